using System.Globalization;

namespace CryoEmPS.Core.Volumes;

/// <summary>One atom of a PDB model: coordinates in Å.</summary>
public sealed record Atom(string Element, double X, double Y, double Z, double Occupancy, double BFactor, string AtomName, string ResidueName, bool IsHetero);

/// <summary>A problem reading an atomic model; <see cref="ErrorId"/> is stable (e.g. 'PdbNoAtoms').</summary>
public sealed class AtomicModelException : FormatException
{
    public AtomicModelException(string errorId, string message) : base(message) => ErrorId = errorId;
    public string ErrorId { get; }
}

/// <summary>
/// An atomic model read from the ATOM/HETATM records of a PDB file, and its conversion to a density map:
/// each atom becomes an isotropic 3-D Gaussian of total mass equal to its atomic number Z (a simple, common
/// proxy for its electron scattering power), standard deviation σ = 0.225 × resolution (Å) — the ChimeraX
/// "molmap" convention, σ = resolution/(π√2) — centred so the model's centre of mass (Z-weighted) sits at
/// the grid origin floor(n/2). The map is in units of Z per voxel: a model entirely inside the box has
/// Σ voxels = Σ Z. B-factors are read but not used; occupancies scale the weights.
/// </summary>
public sealed class AtomicModel
{
    private static readonly Dictionary<string, int> Z = BuildTable();

    public AtomicModel(IReadOnlyList<Atom> atoms, int skippedRecords = 0, string? name = null)
    {
        Atoms = atoms; SkippedRecords = skippedRecords; Name = name ?? "";
    }

    public IReadOnlyList<Atom> Atoms { get; }
    /// <summary>ATOM/HETATM records not used (waters when excluded, alternate locations other than the first).</summary>
    public int SkippedRecords { get; }
    public string Name { get; }

    /// <summary>Residue names treated as water.</summary>
    public static readonly IReadOnlySet<string> WaterNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "HOH", "WAT", "DOD", "H2O", "SOL", "TIP", "TIP3" };

    /// <summary>Reads a PDB file; see <see cref="ParsePdb"/>.</summary>
    public static AtomicModel Load(string path, bool excludeWater = false)
    {
        // A named pipe or a device reports 0 bytes; opening a pipe would wait for a writer forever.
        var info = new FileInfo(path);
        if (info.Exists && info.Length == 0)
        {
            throw new AtomicModelException("PdbNoAtoms",
                "The file is empty (a named pipe or a device also reports 0 bytes and is not read). " +
                "Give a PDB-format file with coordinates.");
        }
        using var reader = new StreamReader(path);
        return ParsePdb(reader, excludeWater, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>
    /// Parses ATOM and HETATM records (fixed columns: name 13–16, altLoc 17, resName 18–20, x/y/z 31–54,
    /// occupancy 55–60, B 61–66, element 77–78). The element comes from columns 77–78, or else from the atom
    /// name (columns 13–14). Only the first alternate location (blank, 'A' or '1') is kept. Waters are kept
    /// unless <paramref name="excludeWater"/>. Stops at the first ENDMDL (first model only).
    /// Throws <see cref="AtomicModelException"/> ('PdbNoAtoms', 'PdbBadRecord' (also coordinates beyond ±<see cref="MaxCoordinate"/> Å or
    /// occupancies outside 0..<see cref="MaxOccupancy"/>), 'PdbUnknownElement', 'PdbZeroOccupancy').
    /// </summary>
    public static AtomicModel ParsePdb(TextReader reader, bool excludeWater = false, string? name = null)
    {
        var atoms = new List<Atom>();
        int skipped = 0, lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (line.StartsWith("ENDMDL", StringComparison.Ordinal)) break;
            bool atom = line.StartsWith("ATOM  ", StringComparison.Ordinal) || line.StartsWith("ATOM", StringComparison.Ordinal) && line.Length > 4 && line[4] == ' ';
            bool het = line.StartsWith("HETATM", StringComparison.Ordinal);
            if (!atom && !het) continue;
            if (line.Length < 54) throw new AtomicModelException("PdbBadRecord", $"Line {lineNo} is an {(het ? "HETATM" : "ATOM")} record shorter than 54 characters, so it has no x, y, z (columns 31–54). Fix or remove the line.");
            string atomName = Col(line, 13, 16);
            char alt = line.Length > 16 ? line[16] : ' ';
            string res = Col(line, 18, 20).Trim();
            if (alt != ' ' && alt != 'A' && alt != '1') { skipped++; continue; }
            if (excludeWater && WaterNames.Contains(res)) { skipped++; continue; }
            if (!TryNum(Col(line, 31, 38), out double x) || !TryNum(Col(line, 39, 46), out double y) || !TryNum(Col(line, 47, 54), out double z))
                throw new AtomicModelException("PdbBadRecord", $"Line {lineNo}: the coordinates in columns 31–54 ('{Col(line, 31, 54)}') are not numbers.");
            if (Math.Abs(x) > MaxCoordinate || Math.Abs(y) > MaxCoordinate || Math.Abs(z) > MaxCoordinate)
            {
                throw new AtomicModelException("PdbBadRecord",
                    $"Line {lineNo}: the coordinates ({x}, {y}, {z}) Å lie beyond ±{MaxCoordinate:0} Å; " +
                    "a PDB model cannot reach that far (the format's columns hold at most 9999.999), so the record is damaged.");
            }
            double occ = TryNum(Col(line, 55, 60), out double o) ? o : 1.0;
            if (occ < 0 || occ > MaxOccupancy)
            {
                throw new AtomicModelException("PdbBadRecord",
                    $"Line {lineNo}: the occupancy {occ} (columns 55–60) is outside 0..{MaxOccupancy:0}; " +
                    "an occupancy is a fraction, normally 0 to 1.");
            }
            double b = TryNum(Col(line, 61, 66), out double bf) ? bf : 0.0;
            string el = ElementOf(line, atomName);
            if (!Z.ContainsKey(el))
                throw new AtomicModelException("PdbUnknownElement", $"Line {lineNo}: cannot tell the element of atom '{atomName.Trim()}' (element columns 77–78: '{Col(line, 77, 78).Trim()}'). Put the element symbol in columns 77–78.");
            atoms.Add(new Atom(el, x, y, z, occ, b, atomName.Trim(), res, het));
        }
        if (atoms.Count == 0)
            throw new AtomicModelException("PdbNoAtoms", "The PDB text has no ATOM or HETATM records" + (skipped > 0 ? $" left after skipping {skipped} (waters or alternate locations)" : "") + ". Give a PDB-format file with coordinates (mmCIF is not read; convert it to PDB first).");
        var model = new AtomicModel(atoms, skipped, name);
        if (!(model.TotalWeight > 0))
        {
            throw new AtomicModelException("PdbZeroOccupancy",
                $"Every one of the {atoms.Count} atoms has occupancy 0, so the map would be empty. " +
                "Give a model whose occupancies (columns 55–60) are not all 0.");
        }
        return model;
    }

    /// <summary>The largest |coordinate| accepted, in Å (the PDB columns hold at most 9999.999).</summary>
    public const double MaxCoordinate = 1e6;

    /// <summary>The largest occupancy accepted (a fraction, normally at most 1).</summary>
    public const double MaxOccupancy = 1000;

    private static string Col(string line, int from, int to)
    {
        if (line.Length < from) return "";
        return line.Substring(from - 1, Math.Min(to, line.Length) - from + 1);
    }

    private static bool TryNum(string s, out double v) => double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v);

    private static string ElementOf(string line, string atomName)
    {
        string e = Col(line, 77, 78).Trim();
        if (e.Length > 0 && char.IsLetter(e[0])) return Normalise(e);
        // Fallback from the name: columns 13–14 hold the right-justified element symbol.
        string two = atomName.Length >= 2 ? atomName[..2] : atomName;
        if (two.Length == 2 && char.IsLetter(two[0]) && char.IsLetter(two[1]) && Z.ContainsKey(Normalise(two)) && atomName.Trim().Length <= 2 && two[0] != 'H')
            return Normalise(two);
        foreach (char ch in atomName)
            if (char.IsLetter(ch)) return Normalise(ch.ToString());
        return "";
    }

    private static string Normalise(string e) => e.Length == 1 ? e.ToUpperInvariant() : char.ToUpperInvariant(e[0]) + e[1..].ToLowerInvariant();

    /// <summary>The atomic number of an element symbol (D counts as H); 0 if unknown.</summary>
    public static int AtomicNumber(string element) => Z.TryGetValue(Normalise(element.Trim()), out int z) ? z : 0;

    /// <summary>Σ occupancy × Z over the atoms.</summary>
    public double TotalWeight => Atoms.Sum(a => a.Occupancy * Z[a.Element]);

    /// <summary>The Z-and-occupancy-weighted centre of mass (Å).</summary>
    public (double X, double Y, double Z) CentreOfMass()
    {
        double sx = 0, sy = 0, sz = 0, sw = 0;
        foreach (var a in Atoms) { double w = a.Occupancy * Z[a.Element]; sx += w * a.X; sy += w * a.Y; sz += w * a.Z; sw += w; }
        if (sw <= 0) return (Atoms.Average(a => a.X), Atoms.Average(a => a.Y), Atoms.Average(a => a.Z));
        return (sx / sw, sy / sw, sz / sw);
    }

    /// <summary>
    /// Renders the model on an n³ grid of voxel size <paramref name="voxelSize"/> Å: atoms as Gaussians of mass
    /// occupancy × Z and σ = 0.225 × <paramref name="resolution"/> Å (σ ≥ 0.4 voxel is required, i.e. resolution ≥ 1.78 × voxel size), centre of mass
    /// at index floor(n/2). <paramref name="warnings"/> says when the model does not fit in the box.
    /// With <paramref name="keepModelFrame"/> the map stays in the model's coordinate frame, so it overlays the model (e.g. in
    /// ChimeraX): the grid is the model's own Å grid of step <paramref name="voxelSize"/>, voxel index i on an axis sits at
    /// (Start + i) × voxel size Å, with Start = round(centre of mass / voxel size) − floor(n/2) stored in
    /// <see cref="Volume.StartX"/>/<see cref="Volume.StartY"/>/<see cref="Volume.StartZ"/> (MRC nxstart/nystart/nzstart). The box
    /// is then centred within half a voxel of the centre of mass.
    /// </summary>
    public Volume ToVolume(int size, double voxelSize, double resolution, out List<string> warnings, CancellationToken cancellationToken = default)
        => ToVolume(size, voxelSize, resolution, keepModelFrame: false, out warnings, cancellationToken);

    /// <inheritdoc cref="ToVolume(int, double, double, out List{string}, CancellationToken)"/>
    public Volume ToVolume(int size, double voxelSize, double resolution, bool keepModelFrame, out List<string> warnings,
        CancellationToken cancellationToken = default)
    {
        if (size < 2) throw new ArgumentOutOfRangeException(nameof(size), $"The box side must be at least 2 voxels; got {size}.");
        if (!(voxelSize > 0) || !double.IsFinite(voxelSize)) throw new ArgumentOutOfRangeException(nameof(voxelSize), $"The voxel size must be a positive number of Å; got {voxelSize}.");
        if (!(resolution > 0) || !double.IsFinite(resolution)) throw new ArgumentOutOfRangeException(nameof(resolution), $"The resolution must be a positive number of Å; got {resolution}.");
        double sigma = SigmaFactor * resolution / voxelSize; // pixels
        if (sigma < 0.4) throw new ArgumentOutOfRangeException(nameof(resolution), $"The resolution {resolution} Å gives atoms σ = {sigma:0.###} voxel, too narrow to sample at {voxelSize} Å/voxel; use a resolution of at least {0.4 * voxelSize / SigmaFactor:0.##} Å (3 × voxel size is a good default).");
        warnings = new List<string>();
        var com = CentreOfMass();
        int c = size / 2;
        var vol = new Volume(size, voxelSize: voxelSize, name: Name);
        if (keepModelFrame)
        {
            // The box centre (index c) moves to the model-grid point nearest the centre of mass.
            vol.StartX = (int)Math.Round(com.X / voxelSize) - c;
            vol.StartY = (int)Math.Round(com.Y / voxelSize) - c;
            vol.StartZ = (int)Math.Round(com.Z / voxelSize) - c;
            com = ((vol.StartX + c) * voxelSize, (vol.StartY + c) * voxelSize, (vol.StartZ + c) * voxelSize);
        }
        int rad = (int)Math.Ceiling(4.5 * sigma);
        double norm = Math.Pow(2 * Math.PI * sigma * sigma, -1.5), inv2s2 = 1 / (2 * sigma * sigma);
        var gx = new double[2 * rad + 2]; var gy = new double[2 * rad + 2]; var gz = new double[2 * rad + 2];
        double maxR = 0; int outside = 0;
        for (int n = 0; n < Atoms.Count; n++)
        {
            if ((n & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
            var a = Atoms[n];
            double px = (a.X - com.X) / voxelSize + c, py = (a.Y - com.Y) / voxelSize + c, pz = (a.Z - com.Z) / voxelSize + c;
            maxR = Math.Max(maxR, Math.Sqrt((px - c) * (px - c) + (py - c) * (py - c) + (pz - c) * (pz - c)));
            if (px < 0 || py < 0 || pz < 0 || px > size - 1 || py > size - 1 || pz > size - 1) outside++;
            double w = a.Occupancy * Z[a.Element] * norm;
            int x0 = (int)Math.Floor(px) - rad, y0 = (int)Math.Floor(py) - rad, z0 = (int)Math.Floor(pz) - rad;
            int m = 2 * rad + 2;
            for (int i = 0; i < m; i++)
            {
                double dx = x0 + i - px, dy = y0 + i - py, dz = z0 + i - pz;
                gx[i] = Math.Exp(-dx * dx * inv2s2); gy[i] = Math.Exp(-dy * dy * inv2s2); gz[i] = Math.Exp(-dz * dz * inv2s2);
            }
            for (int k = 0; k < m; k++)
            {
                int zz = z0 + k; if (zz < 0 || zz >= size) continue;
                double wz = w * gz[k];
                for (int j = 0; j < m; j++)
                {
                    int yy = y0 + j; if (yy < 0 || yy >= size) continue;
                    double wzy = wz * gy[j];
                    int row = (zz * size + yy) * size;
                    for (int i = 0; i < m; i++)
                    {
                        int xx = x0 + i; if (xx < 0 || xx >= size) continue;
                        vol.Data[row + xx] += wzy * gx[i];
                    }
                }
            }
        }
        double half = size / 2.0;
        if (outside > 0)
            warnings.Add($"{outside} of {Atoms.Count} atoms lie outside the {size}³ box at {voxelSize} Å/voxel (the model reaches {maxR * voxelSize:0.#} Å from its centre; the box half-width is {half * voxelSize:0.#} Å). Use a larger -Size or -VoxelSize.");
        else if (maxR + 2 * sigma > half)
            warnings.Add($"The model reaches {maxR * voxelSize:0.#} Å from its centre, so its density (σ = {sigma * voxelSize:0.##} Å) is cut by the {size}³ box of half-width {half * voxelSize:0.#} Å. Use a larger -Size or -VoxelSize.");
        return vol;
    }

    /// <summary>σ = SigmaFactor × resolution (ChimeraX molmap: 1/(π√2)).</summary>
    public static readonly double SigmaFactor = 1 / (Math.PI * Math.Sqrt(2));

    public override string ToString() => $"AtomicModel {Name}: {Atoms.Count} atoms";

    private static Dictionary<string, int> BuildTable()
    {
        string[] symbols = { "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
            "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr",
            "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
            "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
            "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U" };
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < symbols.Length; i++) d[symbols[i]] = i + 1;
        d["D"] = 1;
        return d;
    }
}
