using System.Globalization;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.IO;

/// <summary>
/// Reads the images a RELION particle STAR file names (_rlnImageName = "n@stack.mrcs", n counted from 1) in the file's
/// row order, with the rotations of _rlnAngleRot/Tilt/Psi (degrees, ZYZ) attached. The pixel size comes from the
/// data_optics block (_rlnImagePixelSize) when there is one, else from the MRC header. Stack paths are relative to the
/// STAR file's folder, then to <c>projectFolder</c> (RELION's project directory, where it writes them from).
/// </summary>
public static class StarImageStack
{
    /// <summary>Reads the stack; <paramref name="warnings"/> receives what was read but not used (e.g. non-zero origins).</summary>
    public static ImageStack Read(string starPath, string? projectFolder = null, Action<string>? warnings = null)
    {
        var blocks = StarFile.Read(starPath);
        var particles = blocks.FirstOrDefault(b => b.IsLoop && b.IndexOf("rlnImageName") >= 0)
            ?? throw new StarFormatException($"'{starPath}' has no loop with an _rlnImageName column, so it names no images. " +
                "Give a particle STAR file (data_particles with _rlnImageName = n@stack.mrcs).");
        var names = particles.Column("rlnImageName");
        var cache = new Dictionary<string, ImageStack>(StringComparer.Ordinal);
        string starFolder = Path.GetDirectoryName(Path.GetFullPath(starPath)) ?? ".";
        ImageStack? first = null;
        double[]? data = null;
        for (int i = 0; i < names.Length; i++)
        {
            var (index, file) = ParseImageName(names[i], i + 1);
            if (!cache.TryGetValue(file, out var stack))
            {
                string path = Locate(file, starFolder, projectFolder)
                    ?? throw new FileNotFoundException($"Row {i + 1} of '{starPath}' names '{file}', which is neither in the STAR " +
                        $"file's folder '{starFolder}'" + (projectFolder != null ? $" nor in '{projectFolder}'" : "") + ".", file);
                stack = MrcReader.ReadImageStack(path);
                cache[file] = stack;
            }
            if (index < 1 || index > stack.Count)
            {
                throw new StarFormatException($"Row {i + 1} of '{starPath}' names image {index} of '{file}', which holds {stack.Count}.");
            }
            if (first == null)
            {
                first = stack;
                data = new double[(long)names.Length * stack.ImageLength];
            }
            else if (stack.SizeX != first.SizeX || stack.SizeY != first.SizeY)
            {
                throw new StarFormatException($"'{starPath}' mixes image sizes ({first.SizeY}x{first.SizeX} and {stack.SizeY}x{stack.SizeX}).");
            }
            stack.Image(index - 1).CopyTo(data.AsSpan(i * stack.ImageLength, stack.ImageLength));
        }
        if (first == null || data == null)
        {
            throw new StarFormatException($"'{starPath}' lists no images.");
        }
        double pixelSize = OpticsPixelSize(blocks, particles) ?? first.PixelSize;
        var result = new ImageStack(names.Length, first.SizeY, first.SizeX, data, pixelSize, Path.GetFileNameWithoutExtension(starPath));
        if (particles.IndexOf("rlnAngleRot") >= 0 && particles.IndexOf("rlnAngleTilt") >= 0 && particles.IndexOf("rlnAnglePsi") >= 0)
        {
            var rot = particles.ColumnAsDouble("rlnAngleRot");
            var tilt = particles.ColumnAsDouble("rlnAngleTilt");
            var psi = particles.ColumnAsDouble("rlnAnglePsi");
            result.Rotations = Enumerable.Range(0, names.Length).Select(i => Rotation.FromEulerZyz(rot[i], tilt[i], psi[i])).ToArray();
        }
        else
        {
            warnings?.Invoke($"'{starPath}' has no _rlnAngleRot/_rlnAngleTilt/_rlnAnglePsi columns: the images carry no rotations.");
        }
        foreach (string origin in new[] { "rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginX", "rlnOriginY" })
        {
            if (particles.IndexOf(origin) >= 0 && particles.ColumnAsDouble(origin).Any(v => Math.Abs(v) > 1e-9))
            {
                warnings?.Invoke($"'{starPath}' has non-zero _{origin} values; they are not applied (the images are read as they are).");
                break;
            }
        }
        if (first.SizeX % 2 == 1)
        {
            warnings?.Invoke($"The images are {first.SizeX} pixels wide (odd). relion_project puts the origin of odd images at " +
                $"index {first.SizeX - first.SizeX / 2}, one pixel past ours ({first.SizeX / 2}); see about_CryoEmPS (RELION).");
        }
        return result;
    }

    /// <summary>"000005@stack.mrcs" → (5, "stack.mrcs"); a name without '@' is image 1 of that file.</summary>
    public static (int Index, string File) ParseImageName(string name, int row = 0)
    {
        int at = name.IndexOf('@');
        if (at < 0)
        {
            return (1, name);
        }
        if (!int.TryParse(name.AsSpan(0, at), NumberStyles.Integer, CultureInfo.InvariantCulture, out int index))
        {
            throw new StarFormatException($"Row {row}: '{name}' is not of the form n@file (n counted from 1).");
        }
        return (index, name[(at + 1)..]);
    }

    private static string? Locate(string file, string starFolder, string? projectFolder)
    {
        if (Path.IsPathRooted(file))
        {
            return File.Exists(file) ? file : null;
        }
        foreach (var folder in new[] { starFolder, projectFolder })
        {
            if (folder == null)
            {
                continue;
            }
            string candidate = Path.GetFullPath(Path.Combine(folder, file));
            if (File.Exists(candidate))
            {
                return candidate;
            }
            // RELION often names the stack with the STAR file's own folder in front (Extract/job012/Movies/x.mrcs).
            string leaf = Path.Combine(folder, Path.GetFileName(file));
            if (File.Exists(leaf))
            {
                return leaf;
            }
        }
        return null;
    }

    private static double? OpticsPixelSize(IReadOnlyList<StarBlock> blocks, StarBlock particles)
    {
        var optics = blocks.FirstOrDefault(b => b.Name == "optics");
        if (optics == null || optics.Rows.Length == 0)
        {
            return null;
        }
        string column = optics.IndexOf("rlnImagePixelSize") >= 0 ? "rlnImagePixelSize"
            : optics.IndexOf("rlnMicrographPixelSize") >= 0 ? "rlnMicrographPixelSize" : "";
        if (column.Length == 0)
        {
            return null;
        }
        var sizes = optics.ColumnAsDouble(column);
        if (sizes.Distinct().Count() > 1)
        {
            // Several optics groups: the module keeps one pixel size per stack; use the first row's group.
            if (particles.IndexOf("rlnOpticsGroup") >= 0 && optics.IndexOf("rlnOpticsGroup") >= 0)
            {
                string group = particles.Column("rlnOpticsGroup")[0];
                int row = Array.IndexOf(optics.Column("rlnOpticsGroup"), group);
                if (row >= 0)
                {
                    return sizes[row];
                }
            }
        }
        return sizes[0] > 0 ? sizes[0] : null;
    }
}
