using System.Globalization;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// A check of STAR files written from RELION's documentation, not from our reader (it parses the raw text itself):
/// <list type="bullet">
/// <item>"Conventions &amp; File formats" (RELION wiki, relion.readthedocs.io Reference/Conventions): the file name ends in
/// ".star"; a file has one or more data blocks, each starting with "data_" followed by an optional name; a table is
/// "loop_" followed by labels, each beginning with "_" (RELION writes "_label #n") and used once per block, then rows of
/// whitespace-separated values, one value per label; a loop ends at an empty line or the next block; "#" starts a
/// comment.</item>
/// <item>RELION 3.1 release notes / particle files: a data_optics table whose rows carry _rlnOpticsGroup and
/// _rlnOpticsGroupName and a pixel size (_rlnImagePixelSize or _rlnMicrographPixelSize, Å); the data_particles table
/// refers to a group by _rlnOpticsGroup; coordinates are _rlnCoordinateX/_rlnCoordinateY in pixels of the micrograph named by
/// _rlnMicrographName.</item>
/// <item>Extraction's input coordinates: one file per micrograph named &lt;micrograph base name&gt;_&lt;suffix&gt;.star
/// with a loop of _rlnCoordinateX/_rlnCoordinateY; RELION 4 lists them in a data_coordinate_files table of
/// _rlnMicrographName and _rlnMicrographCoordinates.</item>
/// </list>
/// Every violation throws with the rule it broke.
/// </summary>
internal static class RelionStarCheck
{
    public sealed record Table(string Block, List<string> Labels, List<string[]> Rows);

    public static List<Table> Parse(string text, string fileName)
    {
        Require(fileName.EndsWith(".star", StringComparison.Ordinal), $"the file name '{fileName}' must end in .star");
        var tables = new List<Table>();
        string? block = null;
        Table? loop = null;
        bool inLabels = false;
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            int hash = line.IndexOf('#');
            string content = (hash >= 0 ? line[..hash] : line).Trim();
            if (content.Length == 0)
            {
                if (line.Trim().Length == 0 && loop != null && !inLabels)
                {
                    loop = null; // an empty line ends a loop
                }
                continue;
            }
            if (content.StartsWith("data_", StringComparison.Ordinal))
            {
                block = content[5..];
                loop = null;
                continue;
            }
            Require(block != null, $"line {n + 1}: '{content}' before any data_ block");
            if (content == "loop_")
            {
                loop = new Table(block!, new List<string>(), new List<string[]>());
                tables.Add(loop);
                inLabels = true;
                continue;
            }
            if (content.StartsWith('_'))
            {
                Require(loop != null && inLabels, $"line {n + 1}: label '{content}' outside a loop header (this check wants tables)");
                string label = content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0][1..];
                Require(label.Length > 0, $"line {n + 1}: empty label");
                Require(!tables.Where(t => t.Block == block).SelectMany(t => t.Labels).Contains(label),
                    $"line {n + 1}: label _{label} used twice in data_{block}");
                loop!.Labels.Add(label);
                continue;
            }
            Require(loop != null, $"line {n + 1}: values '{content}' outside a loop");
            inLabels = false;
            var values = content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            Require(values.Length == loop!.Labels.Count,
                $"line {n + 1}: {values.Length} values for {loop.Labels.Count} labels in data_{block}");
            loop.Rows.Add(values);
        }
        Require(tables.Count > 0, "no data block with a table");
        return tables;
    }

    /// <summary>A RELION 3.1+ particle file; returns the particle rows as label → value.</summary>
    public static List<Dictionary<string, string>> CheckParticleFile(string text, string fileName)
    {
        var tables = Parse(text, fileName);
        var optics = tables.SingleOrDefault(t => t.Block == "optics") ?? throw new InvalidOperationException("no data_optics table (RELION 3.1+)");
        foreach (var label in new[] { "rlnOpticsGroup", "rlnOpticsGroupName" })
        {
            Require(optics.Labels.Contains(label), $"data_optics lacks _{label}");
        }
        Require(optics.Labels.Contains("rlnImagePixelSize") || optics.Labels.Contains("rlnMicrographPixelSize"),
            "data_optics has no pixel size (_rlnImagePixelSize or _rlnMicrographPixelSize)");
        var opticsRows = Rows(optics);
        Require(opticsRows.Count > 0, "data_optics has no group");
        foreach (var row in opticsRows)
        {
            string px = row.TryGetValue("rlnMicrographPixelSize", out var m) ? m : row["rlnImagePixelSize"];
            Require(Number(px) > 0, $"pixel size {px} is not positive");
        }
        var groups = opticsRows.Select(r => r["rlnOpticsGroup"]).ToHashSet();
        var particles = tables.SingleOrDefault(t => t.Block == "particles") ?? throw new InvalidOperationException("no data_particles table");
        foreach (var label in new[] { "rlnCoordinateX", "rlnCoordinateY", "rlnMicrographName", "rlnOpticsGroup" })
        {
            Require(particles.Labels.Contains(label), $"data_particles lacks _{label}");
        }
        var rows = Rows(particles);
        foreach (var row in rows)
        {
            Require(groups.Contains(row["rlnOpticsGroup"]), $"optics group {row["rlnOpticsGroup"]} is not in data_optics");
            Require(Number(row["rlnCoordinateX"]) >= 0 && Number(row["rlnCoordinateY"]) >= 0, "negative coordinate");
        }
        return rows;
    }

    /// <summary>One micrograph's coordinate file for extraction.</summary>
    public static List<Dictionary<string, string>> CheckCoordinateFile(string text, string fileName)
    {
        Require(System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(fileName), @"^.+_[A-Za-z0-9.-]+\.star$"),
            $"'{fileName}' is not <micrograph>_<suffix>.star");
        var table = Parse(text, fileName)[0];
        Require(table.Labels.Contains("rlnCoordinateX") && table.Labels.Contains("rlnCoordinateY"), "no _rlnCoordinateX/_rlnCoordinateY");
        var rows = Rows(table);
        Require(rows.All(r => Number(r["rlnCoordinateX"]) >= 0 && Number(r["rlnCoordinateY"]) >= 0), "negative coordinate");
        return rows;
    }

    /// <summary>RELION 4's list of coordinate files.</summary>
    public static List<Dictionary<string, string>> CheckCoordinateFileList(string text, string fileName)
    {
        var table = Parse(text, fileName).SingleOrDefault(t => t.Block == "coordinate_files")
            ?? throw new InvalidOperationException("no data_coordinate_files table");
        Require(table.Labels.Contains("rlnMicrographName") && table.Labels.Contains("rlnMicrographCoordinates"),
            "data_coordinate_files needs _rlnMicrographName and _rlnMicrographCoordinates");
        return Rows(table);
    }

    private static List<Dictionary<string, string>> Rows(Table t)
        => t.Rows.Select(r => t.Labels.Zip(r).ToDictionary(p => p.First, p => p.Second)).ToList();

    private static double Number(string s)
    {
        Require(double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v), $"'{s}' is not a number");
        return v;
    }

    private static void Require(bool condition, string rule)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Not a RELION STAR file: " + rule + ".");
        }
    }
}
