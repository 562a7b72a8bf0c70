using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.IO;

/// <summary>
/// Reads the CTF of each micrograph from the files CTF estimation leaves behind, as <see cref="CtfEntry"/> (name, CTF):
/// <list type="bullet">
/// <item>RELION's micrographs_ctf.star, 3.1 and later: a data_optics block (rlnOpticsGroup, rlnVoltage kV,
/// rlnSphericalAberration mm, rlnAmplitudeContrast, rlnMicrographPixelSize or rlnImagePixelSize Å) and a data_micrographs
/// block (rlnMicrographName, rlnOpticsGroup, rlnDefocusU/V Å, rlnDefocusAngle degrees, optional rlnPhaseShift degrees and
/// rlnCtfBfactor Å²). A column present in the micrographs block overrides its optics group's value.</item>
/// <item>RELION before 3.1: one block whose rows carry rlnVoltage, rlnSphericalAberration, rlnAmplitudeContrast and the pixel
/// size (rlnMicrographPixelSize, or rlnDetectorPixelSize µm · 10⁴ / rlnMagnification).</item>
/// <item>CTFFIND4's output text: the header lines "# Input file: ..." and "# Pixel size: 1.000 Angstroms ; acceleration
/// voltage: 300.0 keV ; spherical aberration: 2.70 mm ; amplitude contrast: 0.07", then one row per micrograph: number,
/// defocus 1 and 2 (Å), azimuth of astigmatism (degrees), additional phase shift (RADIANS), cross correlation, fit
/// resolution (further columns of CTFFIND5 are ignored). Defocus 1/2 and the azimuth are RELION's U/V/angle, as RELION
/// itself imports them. One row: named by the input file; several (a stack): "n@input file".</item>
/// </list>
/// Every failure is a <see cref="CtfFileException"/> with a stable ErrorId. Never prints.
/// </summary>
public static class CtfFile
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Reads <paramref name="path"/>, telling STAR from CTFFIND4 by content (a data_ block: STAR).</summary>
    public static IReadOnlyList<CtfEntry> Read(string path)
    {
        string text;
        using (var reader = new StreamReader(path, Encoding.UTF8))
        {
            text = reader.ReadToEnd();
        }
        return Parse(text, path);
    }

    /// <summary>Parses the text of a STAR or CTFFIND4 file; <paramref name="source"/> names it in messages.</summary>
    public static IReadOnlyList<CtfEntry> Parse(string text, string source)
    {
        if (IsStar(text))
        {
            return ParseStar(text, source);
        }
        if (IsCtffind(text))
        {
            return ParseCtffind(text, source);
        }
        throw new CtfFileException("CtfFormatUnknown",
            $"'{source}' is neither a RELION STAR file (no data_ block) nor a CTFFIND4 output file (no '# Pixel size:' header " +
            "line). Give RELION's micrographs_ctf.star or the .txt file CTFFIND4 writes beside its diagnostic image.");
    }

    /// <summary>True for text with a line that starts a STAR data block.</summary>
    public static bool IsStar(string text)
        => text.Split('\n').Any(line => line.TrimStart().StartsWith("data_", StringComparison.Ordinal));

    /// <summary>True for text with CTFFIND's '# Pixel size:' or '# Output from CTFFind' header line.</summary>
    public static bool IsCtffind(string text)
        => text.Split('\n').Select(line => line.TrimStart()).Any(line => line.StartsWith('#')
            && (line.Contains("Pixel size:", StringComparison.OrdinalIgnoreCase)
                || line.Contains("Output from CTFFind", StringComparison.OrdinalIgnoreCase)));

    /// <summary>Parses a RELION STAR file (3.1+ with data_optics, or the older single block).</summary>
    public static IReadOnlyList<CtfEntry> ParseStar(string text, string source)
    {
        IReadOnlyList<StarBlock> blocks;
        try
        {
            blocks = StarFile.Read(new StringReader(text));
        }
        catch (StarFormatException ex)
        {
            throw new CtfFileException("CtfInvalidFormat", $"'{source}' is not a well-formed STAR file: {ex.Message}", ex);
        }

        var optics = blocks.FirstOrDefault(b => b.Name == "optics");
        var table = blocks.FirstOrDefault(b => b.Name == "micrographs" && b.IndexOf("rlnDefocusU") >= 0)
            ?? blocks.FirstOrDefault(b => b != optics && b.IndexOf("rlnDefocusU") >= 0)
            ?? blocks.FirstOrDefault(b => b.Name == "micrographs")
            ?? blocks.FirstOrDefault(b => b != optics);
        if (table == null)
        {
            throw new CtfFileException("CtfColumnMissing",
                $"'{source}' has no block of micrographs (data_micrographs with _rlnMicrographName and _rlnDefocusU).");
        }
        string where = $"data_{table.Name} of '{source}'";
        int name = Require(table, "rlnMicrographName", where);
        int defocusU = Require(table, "rlnDefocusU", where);
        int defocusV = Require(table, "rlnDefocusV", where);
        int angle = Require(table, "rlnDefocusAngle", where);
        int phase = table.IndexOf("rlnPhaseShift");
        int bFactor = table.IndexOf("rlnCtfBfactor");
        if (table.Rows.Length == 0)
        {
            throw new CtfFileException("CtfFileEmpty", $"{where} lists no micrographs.");
        }

        var groups = optics != null ? ReadOptics(optics, source) : null;
        int group = table.IndexOf("rlnOpticsGroup");
        if (groups != null && group < 0 && groups.Count != 1)
        {
            throw new CtfFileException("CtfColumnMissing",
                $"{where} has no _rlnOpticsGroup column, but data_optics has {groups.Count} optics groups, so the microscope of " +
                "each micrograph is unknown. Add the column (RELION writes it).");
        }

        var entries = new List<CtfEntry>(table.Rows.Length);
        for (int r = 0; r < table.Rows.Length; r++)
        {
            var row = table.Rows[r];
            string micrograph = row[name];
            string rowText = $"row {r + 1} ('{micrograph}') of {where}";
            Optics? rowOptics = null;
            if (groups != null)
            {
                int id = group >= 0 ? (int)Number(row[group], "rlnOpticsGroup", rowText) : groups.Keys.Single();
                if (!groups.TryGetValue(id, out var found))
                {
                    throw new CtfFileException("CtfOpticsGroupUnknown",
                        $"{rowText} names optics group {row[group]}, but data_optics of '{source}' has only " +
                        $"{string.Join(", ", groups.Keys.OrderBy(k => k))}. Use the STAR file RELION wrote for these micrographs.");
                }
                rowOptics = found;
            }

            double Column(string column, double? fallback)
            {
                int i = table.IndexOf(column);
                if (i >= 0)
                {
                    return Number(row[i], column, rowText);
                }
                return fallback ?? throw new CtfFileException("CtfColumnMissing",
                    $"{where} has no _{column} column{(groups != null ? " and data_optics does not give it either" : "")}; " +
                    $"a CTF needs it (RELION before 3.1 writes it on every row, 3.1 and later in data_optics).");
            }

            double voltage = Column("rlnVoltage", rowOptics?.Voltage);
            double cs = Column("rlnSphericalAberration", rowOptics?.SphericalAberration);
            double q0 = Column("rlnAmplitudeContrast", rowOptics?.AmplitudeContrast);
            double pixelSize = PixelSizeOf(table, row, rowText, where, rowOptics?.PixelSize);
            entries.Add(new CtfEntry(micrograph, MakeCtf(rowText,
                Number(row[defocusU], "rlnDefocusU", rowText), Number(row[defocusV], "rlnDefocusV", rowText),
                Number(row[angle], "rlnDefocusAngle", rowText), voltage, cs, q0, pixelSize,
                phase >= 0 ? Number(row[phase], "rlnPhaseShift", rowText) : 0,
                bFactor >= 0 ? Number(row[bFactor], "rlnCtfBfactor", rowText) : 0)));
        }
        return entries;
    }

    /// <summary>Parses CTFFIND4's output text (the .txt beside the diagnostic image).</summary>
    public static IReadOnlyList<CtfEntry> ParseCtffind(string text, string source)
    {
        string? input = null;
        double? pixelSize = null, voltage = null, cs = null, q0 = null;
        var rows = new List<(int Line, string[] Values)>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith('#'))
            {
                input ??= HeaderText(line, "Input file");
                pixelSize ??= HeaderNumber(line, "Pixel size", source, i + 1);
                voltage ??= HeaderNumber(line, "acceleration voltage", source, i + 1);
                cs ??= HeaderNumber(line, "spherical aberration", source, i + 1);
                q0 ??= HeaderNumber(line, "amplitude contrast", source, i + 1);
                continue;
            }
            rows.Add((i + 1, line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
        }

        double Header(double? value, string field)
            => value ?? throw new CtfFileException("CtfColumnMissing",
                $"'{source}' has no '# ... {field}: ...' header line; CTFFIND4 writes '# Pixel size: 1.000 Angstroms ; " +
                "acceleration voltage: 300.0 keV ; spherical aberration: 2.70 mm ; amplitude contrast: 0.07'.");

        double px = Header(pixelSize, "Pixel size"), kv = Header(voltage, "acceleration voltage");
        double mm = Header(cs, "spherical aberration"), w = Header(q0, "amplitude contrast");
        if (string.IsNullOrWhiteSpace(input))
        {
            throw new CtfFileException("CtfColumnMissing",
                $"'{source}' has no '# Input file: ...' header line, so the micrograph it describes is unknown.");
        }
        if (rows.Count == 0)
        {
            throw new CtfFileException("CtfFileEmpty", $"'{source}' has the CTFFIND4 header but no result rows.");
        }

        string[] columns = { "#1 micrograph number", "#2 defocus 1", "#3 defocus 2", "#4 azimuth of astigmatism", "#5 additional phase shift" };
        var entries = new List<CtfEntry>(rows.Count);
        foreach (var (line, values) in rows)
        {
            string rowText = $"line {line} of '{source}'";
            if (values.Length < columns.Length)
            {
                throw new CtfFileException("CtfColumnMissing",
                    $"{rowText} has {values.Length} values; column {columns[values.Length]} is missing (CTFFIND4 writes 7: number, " +
                    "defocus 1 and 2 in Å, azimuth in degrees, phase shift in radians, cross correlation, fit resolution).");
            }
            double number = Number(values[0], "micrograph number", rowText);
            string name = rows.Count == 1 ? input : $"{(int)number}@{input}";
            rowText = $"{rowText} (micrograph {(int)number}, '{name}')";
            entries.Add(new CtfEntry(name, MakeCtf(rowText,
                Number(values[1], "defocus 1", rowText), Number(values[2], "defocus 2", rowText),
                Number(values[3], "azimuth of astigmatism", rowText), kv, mm, w, px,
                Number(values[4], "additional phase shift", rowText) * 180 / Math.PI, 0)));
        }
        return entries;
    }

    /// <summary>
    /// The entries that name a micrograph whose file is <paramref name="filePath"/> (may be null) and whose name is
    /// <paramref name="name"/>, by the first rule that matches any: (1) the entry's name equals the path or the name, or the
    /// path ends with '/' + the entry's name (RELION's project-relative names); (2) equal file names; (3) equal file names
    /// without extension. An "n@" stack prefix must agree at every rule. Empty: no match; more than one: ambiguous.
    /// </summary>
    public static IReadOnlyList<CtfEntry> Find(IReadOnlyList<CtfEntry> entries, string? filePath, string? name)
    {
        var keys = new[] { filePath, name }.Where(k => !string.IsNullOrEmpty(k)).Select(k => k!).ToArray();
        if (keys.Length == 0)
        {
            return Array.Empty<CtfEntry>();
        }

        bool Exact(CtfEntry e) => keys.Any(k => k == e.MicrographName
            || Normal(k).EndsWith("/" + Normal(e.MicrographName).TrimStart('/'), StringComparison.Ordinal));
        bool SameFile(CtfEntry e) => keys.Any(k => Key(k, false) == Key(e.MicrographName, false));
        bool SameStem(CtfEntry e) => keys.Any(k => Key(k, true) == Key(e.MicrographName, true));
        foreach (var rule in new Func<CtfEntry, bool>[] { Exact, SameFile, SameStem })
        {
            var found = entries.Where(rule).Distinct().ToArray();
            if (found.Length > 0)
            {
                return found;
            }
        }
        return Array.Empty<CtfEntry>();
    }

    private static string Normal(string path) => path.Replace('\\', '/');

    // "n@" + the file name (without extension when stem); the n@ prefix of a stack member is kept.
    private static string Key(string path, bool stem)
    {
        string p = Normal(path);
        string prefix = "";
        int at = p.IndexOf('@');
        if (at > 0 && p.Take(at).All(char.IsDigit))
        {
            prefix = p[..(at + 1)];
            p = p[(at + 1)..];
        }
        string file = p[(p.LastIndexOf('/') + 1)..];
        if (stem)
        {
            int dot = file.LastIndexOf('.');
            file = dot > 0 ? file[..dot] : file;
        }
        return prefix + file;
    }

    private sealed record Optics(double? Voltage, double? SphericalAberration, double? AmplitudeContrast, double? PixelSize);

    private static Dictionary<int, Optics> ReadOptics(StarBlock optics, string source)
    {
        string where = $"data_optics of '{source}'";
        int group = Require(optics, "rlnOpticsGroup", where);
        var groups = new Dictionary<int, Optics>();
        for (int r = 0; r < optics.Rows.Length; r++)
        {
            var row = optics.Rows[r];
            string rowText = $"row {r + 1} of {where}";
            double? Optional(string column)
            {
                int i = optics.IndexOf(column);
                return i >= 0 ? Number(row[i], column, rowText) : null;
            }
            groups[(int)Number(row[group], "rlnOpticsGroup", rowText)] = new Optics(Optional("rlnVoltage"),
                Optional("rlnSphericalAberration"), Optional("rlnAmplitudeContrast"),
                Optional("rlnMicrographPixelSize") ?? Optional("rlnImagePixelSize"));
        }
        return groups;
    }

    private static double PixelSizeOf(StarBlock table, string[] row, string rowText, string where, double? fallback)
    {
        foreach (string column in new[] { "rlnMicrographPixelSize", "rlnImagePixelSize" })
        {
            int i = table.IndexOf(column);
            if (i >= 0)
            {
                return Number(row[i], column, rowText);
            }
        }
        int detector = table.IndexOf("rlnDetectorPixelSize"), magnification = table.IndexOf("rlnMagnification");
        if (detector >= 0 && magnification >= 0)
        {
            // RELION before 3.1: pixel size (Å) = detector pixel (µm) · 10⁴ / magnification.
            return Number(row[detector], "rlnDetectorPixelSize", rowText) * 1e4 / Number(row[magnification], "rlnMagnification", rowText);
        }
        return fallback ?? throw new CtfFileException("CtfColumnMissing",
            $"{where} gives no pixel size: it needs _rlnMicrographPixelSize (in data_optics for RELION 3.1+, or per row), " +
            "or _rlnDetectorPixelSize with _rlnMagnification (RELION before 3.1).");
    }

    private static Ctf MakeCtf(string rowText, double defocusU, double defocusV, double angle, double voltage, double cs,
        double q0, double pixelSize, double phaseShift, double bFactor)
    {
        foreach (var (value, label) in new[] { (defocusU, "defocus U (defocus 1)"), (defocusV, "defocus V (defocus 2)") })
        {
            if (!(value > 0) || !double.IsFinite(value))
            {
                throw new CtfFileException("CtfDefocusInvalid",
                    $"{rowText}: {label} is {value.ToString(Invariant)} Å; a defocus must be a positive underfocus in Å " +
                    "(RELION and CTFFIND4 both write underfocus as positive). Re-run the CTF estimation for this micrograph " +
                    "or leave it out of the file.");
            }
        }
        try
        {
            return new Ctf(defocusU, defocusV, angle, voltage, cs, q0, pixelSize, phaseShift, bFactor);
        }
        catch (ArgumentException ex)
        {
            throw new CtfFileException("CtfParameterInvalid", $"{rowText}: {ex.Message}", ex);
        }
    }

    private static int Require(StarBlock block, string column, string where)
    {
        int i = block.IndexOf(column);
        return i >= 0 ? i : throw new CtfFileException("CtfColumnMissing",
            $"{where} has no _{column} column; a CTF file needs it (RELION's micrographs_ctf.star from CtfFind has it).");
    }

    private static double Number(string text, string column, string rowText)
        => double.TryParse(text, NumberStyles.Float, Invariant, out double value)
            ? value
            : throw new CtfFileException("CtfValueInvalid", $"{rowText}: {column} is '{text}', not a number.");

    private static string? HeaderText(string line, string field)
    {
        var match = Regex.Match(line, Regex.Escape(field) + @"\s*:\s*(.*?)\s*(;|$)", RegexOptions.IgnoreCase);
        return match.Success && match.Groups[1].Value.Length > 0 ? match.Groups[1].Value : null;
    }

    private static double? HeaderNumber(string line, string field, string source, int lineNumber)
    {
        string? text = HeaderText(line, field);
        if (text == null)
        {
            return null;
        }
        var match = Regex.Match(text, @"^[-+0-9.eE]+");
        return match.Success && double.TryParse(match.Value, NumberStyles.Float, Invariant, out double value)
            ? value
            : throw new CtfFileException("CtfValueInvalid", $"line {lineNumber} of '{source}': {field} is '{text}', not a number.");
    }
}
