using System.Globalization;
using System.Text;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Core.IO;

/// <summary>One data block of a STAR file: either a loop (a table) or key-value pairs (one row).</summary>
public sealed class StarBlock
{
    public StarBlock(string name, IReadOnlyList<string> columns, IReadOnlyList<string[]> rows, bool isLoop)
    {
        Name = name; Columns = columns.ToArray(); Rows = rows.ToArray(); IsLoop = isLoop;
    }

    /// <summary>The block name without "data_" (e.g. "particles").</summary>
    public string Name { get; }
    /// <summary>Column labels without the leading underscore (e.g. "rlnCoordinateX").</summary>
    public string[] Columns { get; }
    public string[][] Rows { get; }
    public bool IsLoop { get; }

    public override string ToString() => $"data_{Name}: {(IsLoop ? "loop" : "pairs")} of {Columns.Length} columns, {Rows.Length} rows";

    public int IndexOf(string column) => Array.FindIndex(Columns, c => string.Equals(c, column.TrimStart('_'), StringComparison.Ordinal));

    /// <summary>The values of one column (throws when the column is absent).</summary>
    public string[] Column(string column)
    {
        int i = IndexOf(column);
        if (i < 0) throw new KeyNotFoundException($"The STAR block data_{Name} has no column _{column.TrimStart('_')}.");
        return Rows.Select(r => r[i]).ToArray();
    }

    public double[] ColumnAsDouble(string column)
        => Column(column).Select(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
}

/// <summary>A STAR file with a malformed structure (a loop row with the wrong number of values, a value outside a block).</summary>
public sealed class StarFormatException : IOException
{
    public StarFormatException(string message) : base(message) { }
}

/// <summary>
/// A small reader and writer for the STAR files RELION uses (data_ blocks, loop_ tables, key-value
/// blocks, '#' comments, quoted values). Not a full CIF/STAR parser: no save frames, no nested loops, no
/// multi-line ';' strings.
/// </summary>
public static class StarFile
{
    public static IReadOnlyList<StarBlock> Read(string path)
    {
        using var r = new StreamReader(path, Encoding.UTF8);
        return Read(r);
    }

    public static IReadOnlyList<StarBlock> Read(TextReader reader)
    {
        var blocks = new List<StarBlock>();
        string? name = null;
        var cols = new List<string>();
        var rows = new List<string[]>();
        var kvValues = new List<string>();
        bool inLoop = false, loopHeader = false;
        int lineNo = 0;

        void Flush()
        {
            if (name == null) return;
            if (inLoop) blocks.Add(new StarBlock(name, cols, rows, true));
            else blocks.Add(new StarBlock(name, cols, cols.Count > 0 ? new List<string[]> { kvValues.ToArray() } : new List<string[]>(), false));
            cols = new List<string>(); rows = new List<string[]>(); kvValues = new List<string>();
            inLoop = false; loopHeader = false;
        }

        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            var tokens = Tokenize(line);
            if (tokens.Count == 0) continue;
            string t0 = tokens[0];
            if (t0.StartsWith("data_", StringComparison.Ordinal))
            {
                Flush();
                name = t0.Substring(5);
                continue;
            }
            if (name == null) throw new StarFormatException($"Line {lineNo}: '{line.Trim()}' appears before any data_ block.");
            if (t0 == "loop_")
            {
                if (inLoop || cols.Count > 0)
                {
                    // A second loop in the same block: start a new block of the same name.
                    string n = name; Flush(); name = n;
                }
                inLoop = true; loopHeader = true;
                continue;
            }
            if (t0.StartsWith('_'))
            {
                if (inLoop && !loopHeader)
                {
                    // Key-value pairs after a loop end it.
                    string n = name; Flush(); name = n;
                }
                if (inLoop) cols.Add(t0.Substring(1));
                else
                {
                    cols.Add(t0.Substring(1));
                    kvValues.Add(tokens.Count > 1 ? tokens[1] : "");
                }
                continue;
            }
            if (!inLoop) throw new StarFormatException($"Line {lineNo}: value '{line.Trim()}' outside a loop_ in data_{name}.");
            loopHeader = false;
            if (tokens.Count != cols.Count)
                throw new StarFormatException($"Line {lineNo}: {tokens.Count} values, but the loop in data_{name} has {cols.Count} columns.");
            rows.Add(tokens.ToArray());
        }
        Flush();
        return blocks;
    }

    private static List<string> Tokenize(string line)
    {
        var t = new List<string>();
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '#') break;
            if (c == '"' || c == '\'')
            {
                int j = line.IndexOf(c, i + 1);
                if (j < 0) j = line.Length;
                t.Add(line.Substring(i + 1, j - i - 1));
                i = j + 1;
                continue;
            }
            int k = i;
            while (k < line.Length && !char.IsWhiteSpace(line[k])) k++;
            t.Add(line.Substring(i, k - i));
            i = k;
        }
        return t;
    }

    /// <summary>Writes one loop block: "data_&lt;name&gt;", "loop_", "_col #n" lines, then the rows.</summary>
    public static void WriteLoop(TextWriter w, string blockName, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        w.Write("\n# version 30001\n\n");
        w.Write($"data_{blockName}\n\nloop_\n");
        for (int i = 0; i < columns.Count; i++) w.Write($"_{columns[i].TrimStart('_')} #{i + 1}\n");
        foreach (var r in rows)
        {
            if (r.Count != columns.Count) throw new ArgumentException("A row has the wrong number of values.");
            w.Write(string.Join(' ', r.Select(Quote)));
            w.Write('\n');
        }
        w.Write('\n');
    }

    private static string Quote(string v)
    {
        if (v.Length == 0) return "\"\"";
        if (v.Any(char.IsWhiteSpace) || v[0] == '_' || v[0] == '#' || v[0] == '\'' || v[0] == '"' || v.StartsWith("data_") || v == "loop_")
            return "\"" + v + "\"";
        return v;
    }

    /// <summary>
    /// The columns of the data_particles block of
    /// <see cref="WriteParticleCoordinates(TextWriter, IEnumerable{ValueTuple{Micrograph, string}}, double)"/>.
    /// </summary>
    public static readonly string[] ParticleColumns =
    {
        "rlnCoordinateX", "rlnCoordinateY", "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnMicrographName", "rlnOpticsGroup",
    };

    /// <summary>The columns of the data_optics block (RELION 3.1+): one optics group; no CTF columns (the simulation has none).</summary>
    public static readonly string[] OpticsColumns =
    {
        "rlnOpticsGroupName", "rlnOpticsGroup", "rlnMicrographOriginalPixelSize", "rlnMicrographPixelSize", "rlnImageSize",
        "rlnImageDimensionality",
    };

    /// <summary>The columns of a per-micrograph coordinate file (<see cref="WriteMicrographCoordinates"/>).</summary>
    public static readonly string[] MicrographCoordinateColumns =
        { "rlnCoordinateX", "rlnCoordinateY", "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnClassNumber" };

    /// <summary>
    /// Writes the true particles of simulated micrographs as a RELION 3.1+ particle STAR file: a data_optics block (one
    /// optics group "opticsGroup1" with the micrograph pixel size in Å and the particle box size L) and a data_particles
    /// block. _rlnCoordinateX/Y are the particle CENTRES in pixels, 0-based (the first pixel of the micrograph is 0):
    /// column + floor(L/2) and row + floor(L/2), L = the particle size. RELION's extraction (relion_preprocess,
    /// extractParticlesFromOneFrame) windows x0 = (long)xcoord + FIRST_XMIPP_INDEX(L) = xcoord − floor(L/2) into a
    /// micrograph whose first pixel has index 0, so a box extracted at these coordinates is exactly the L×L box the
    /// particle was placed in; the centre is the grid origin floor(L/2) (CONVENTIONS §4). Angles are RELION rot/tilt/psi
    /// in degrees from <see cref="Rotations.Rotation.ToEulerZyz"/>. <paramref name="pixelSize"/> (Å) must be positive.
    /// </summary>
    public static void WriteParticleCoordinates(TextWriter w, IEnumerable<(Micrograph Micrograph, string MicrographName)> micrographs,
        double pixelSize)
    {
        if (!(pixelSize > 0) || !double.IsFinite(pixelSize))
        {
            throw new ArgumentException($"A RELION 3.1 optics block needs a positive pixel size; got {pixelSize}.");
        }
        var rows = new List<string[]>();
        int particleSize = 0;
        foreach (var (m, name) in micrographs)
        {
            var truth = RequireTruth(m);
            particleSize = truth.ParticleSize;
            int half = truth.ParticleSize / 2;
            foreach (var p in truth.Particles)
            {
                var (rot, tilt, psi) = p.Rotation.ToEulerZyz();
                rows.Add(new[] { F(p.Column + half), F(p.Row + half), A(rot), A(tilt), A(psi), name, "1" });
            }
        }
        string px = pixelSize.ToString("0.######", CultureInfo.InvariantCulture);
        WriteLoop(w, "optics", OpticsColumns,
            new[] { new[] { "opticsGroup1", "1", px, px, particleSize.ToString(CultureInfo.InvariantCulture), "2" } });
        WriteLoop(w, "particles", ParticleColumns, rows);
    }

    /// <summary>
    /// One micrograph's coordinate file as RELION's extraction reads it (Extract: "input coordinates"): an unnamed data_
    /// block with a loop of particle centres (_rlnCoordinateX/Y, 0-based pixels as in
    /// <see cref="WriteParticleCoordinates(TextWriter, IEnumerable{ValueTuple{Micrograph, string}}, double)"/>), the angles
    /// and class 1.
    /// </summary>
    public static void WriteMicrographCoordinates(TextWriter w, Micrograph m)
    {
        var truth = RequireTruth(m);
        int half = truth.ParticleSize / 2;
        var rows = truth.Particles.Select(p =>
        {
            var (rot, tilt, psi) = p.Rotation.ToEulerZyz();
            return (IReadOnlyList<string>)new[] { F(p.Column + half), F(p.Row + half), A(rot), A(tilt), A(psi), "1" };
        });
        WriteLoop(w, "", MicrographCoordinateColumns, rows);
    }

    /// <summary>
    /// The list of coordinate files that RELION 4+ extraction takes (a data_coordinate_files block with
    /// _rlnMicrographName and _rlnMicrographCoordinates, as relion_autopick and Manual picking write it).
    /// </summary>
    public static void WriteCoordinateFileList(TextWriter w, IEnumerable<(string MicrographName, string CoordinateFile)> files)
        => WriteLoop(w, "coordinate_files", new[] { "rlnMicrographName", "rlnMicrographCoordinates" },
            files.Select(f => (IReadOnlyList<string>)new[] { f.MicrographName, f.CoordinateFile }));

    private static MicrographTruth RequireTruth(Micrograph m)
        => m.Truth ?? throw new ArgumentException(
            $"The micrograph '{m.Name}' has no truth (it was not simulated), so there are no particle coordinates to write.");

    private static string F(double v) => v.ToString("0.000000", CultureInfo.InvariantCulture);
    // Angles at full double precision so the rotation round-trips (to ~1e-12 degrees).
    private static string A(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
