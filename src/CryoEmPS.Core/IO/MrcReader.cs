using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.IO;

/// <summary>An MRC/CCP4 file read into memory: its header and its values in [z, y, x] order (x fastest).</summary>
public sealed class MrcData
{
    internal MrcData(MrcHeader header, double[] data) { Header = header; Data = data; }
    public MrcHeader Header { get; }
    public int SizeZ => Header.SizeZ;
    public int SizeY => Header.SizeY;
    public int SizeX => Header.SizeX;
    /// <summary>Values in [z, y, x] order, x fastest, whatever the file's axis order.</summary>
    public double[] Data { get; }
}

/// <summary>
/// Reads MRC2014 / CCP4 maps and image stacks (CONVENTIONS §4): any axis order (mapc/mapr/maps),
/// nxstart/nystart/nzstart, modes 0 (int8), 1 (int16), 2 (float32), 6 (uint16), 12 (float16), both byte
/// orders. The header is validated against the file length before anything is allocated.
/// </summary>
public static class MrcReader
{
    /// <summary>Reads and validates only the header.</summary>
    public static MrcHeader ReadHeader(string path)
    {
        RequireHeaderLength(path);
        using var fs = OpenRead(path);
        return Wrap(path, () => ReadHeader(fs));
    }

    public static MrcHeader ReadHeader(Stream stream)
    {
        if (!stream.CanSeek) throw new ArgumentException("The stream must be seekable (its length is checked against the header).", nameof(stream));
        var buf = new byte[MrcHeader.Length];
        stream.Position = 0;
        int n = stream.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
        return MrcHeader.Parse(buf.AsSpan(0, n), stream.Length);
    }

    /// <summary>Reads a whole file; values come back in [z, y, x] order.</summary>
    public static MrcData Read(string path)
    {
        RequireHeaderLength(path);
        using var fs = OpenRead(path);
        return Wrap(path, () => Read(fs));
    }

    public static MrcData Read(Stream stream)
    {
        var h = ReadHeader(stream);
        stream.Position = h.DataOffset;
        int nc = h.Columns, nr = h.Rows, ns = h.Sections;
        MemoryBudget.Require(8.0 * h.VoxelCount + 12.0 * nc, $"Reading {h.SizeX}×{h.SizeY}×{h.SizeZ} values (8 bytes each in memory)",
            "Crop or bin the map with another tool first, or raise $" + MemoryBudget.LimitVariable + " on a machine with more memory.");
        var data = new double[h.VoxelCount];   // VoxelCount × bytes/voxel ≤ file length: checked by the header
        int sx = h.SizeX, sy = h.SizeY;
        long Stride(int axis) => axis == 1 ? 1 : axis == 2 ? sx : (long)sx * sy;
        long stC = Stride(h.MapC), stR = Stride(h.MapR), stS = Stride(h.MapS);
        bool identity = h.MapC == 1 && h.MapR == 2 && h.MapS == 3;
        int bpv = h.BytesPerVoxel;
        // Read row by row (a row is nc voxels, contiguous in the file) so no buffer exceeds one row.
        var raw = new byte[(long)nc * bpv];
        var row = identity ? Array.Empty<double>() : new double[nc];
        for (int s = 0; s < ns; s++)
            for (int r = 0; r < nr; r++)
            {
                stream.ReadExactly(raw);
                if (identity)
                {
                    Decode(raw, data.AsSpan((int)(((long)s * nr + r) * nc), nc), h.Mode, h.IsBigEndian, h.Mode0Unsigned);
                }
                else
                {
                    Decode(raw, row, h.Mode, h.IsBigEndian, h.Mode0Unsigned);
                    long b = s * stS + r * stR;
                    for (int c = 0; c < nc; c++) data[b + c * stC] = row[c];
                }
            }
        return new MrcData(h, data);
    }

    private static void Decode(ReadOnlySpan<byte> raw, Span<double> dst, int mode, bool big, bool unsigned8)
    {
        int n = dst.Length;
        switch (mode)
        {
            case 0:
                if (unsigned8) for (int i = 0; i < n; i++) dst[i] = raw[i];
                else for (int i = 0; i < n; i++) dst[i] = (sbyte)raw[i];
                break;
            case 1:
                for (int i = 0; i < n; i++) { var s = raw.Slice(2 * i, 2); dst[i] = big ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s); }
                break;
            case 2:
                for (int i = 0; i < n; i++) { var s = raw.Slice(4 * i, 4); dst[i] = big ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s); }
                break;
            case 6:
                for (int i = 0; i < n; i++) { var s = raw.Slice(2 * i, 2); dst[i] = big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s); }
                break;
            case 12:
                for (int i = 0; i < n; i++) { var s = raw.Slice(2 * i, 2); dst[i] = (double)(big ? BinaryPrimitives.ReadHalfBigEndian(s) : BinaryPrimitives.ReadHalfLittleEndian(s)); }
                break;
            default:
                throw new MrcFormatException(MrcErrorReason.UnsupportedMode, $"Data mode {mode} is not supported.");
        }
    }

    /// <summary>Reads a map as a <see cref="Volume"/> (name = file name without extension; StartX/Y/Z from nxstart etc.).</summary>
    public static Volume ReadVolume(string path)
    {
        var m = Read(path);
        var h = m.Header;
        return new Volume(h.SizeZ, h.SizeY, h.SizeX, m.Data, h.VoxelSize, System.IO.Path.GetFileNameWithoutExtension(path))
        {
            StartX = h.StartX, StartY = h.StartY, StartZ = h.StartZ,
        };
    }

    /// <summary>Reads an image stack: z is the image index whatever ispg says (RELION writes stacks with ispg = 1).</summary>
    public static ImageStack ReadImageStack(string path)
    {
        var m = Read(path);
        var h = m.Header;
        return new ImageStack(h.SizeZ, h.SizeY, h.SizeX, m.Data, h.VoxelSize, System.IO.Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>
    /// Reads a micrograph (nz = 1) or a stack of micrographs (one per section). The noise variance and
    /// seed that <see cref="MrcWriter.WriteMicrographs"/> stores in the labels are restored; otherwise
    /// NoiseVariance stays NaN (unknown).
    /// </summary>
    public static Micrograph[] ReadMicrographs(string path)
    {
        var m = Read(path);
        var h = m.Header;
        string baseName = System.IO.Path.GetFileNameWithoutExtension(path);
        var meta = Wrap(path, () => MicrographLabel.ParseAll(h.Labels));
        int n = h.SizeY * h.SizeX;
        var result = new Micrograph[h.SizeZ];
        for (int z = 0; z < h.SizeZ; z++)
        {
            var d = h.SizeZ == 1 ? m.Data : m.Data.AsSpan(z * n, n).ToArray();
            var mg = new Micrograph(h.SizeY, h.SizeX, d, h.VoxelSize, h.SizeZ == 1 ? baseName : $"{baseName}[{z}]");
            if (meta.TryGetValue(z, out var lab))
            {
                mg.NoiseVariance = lab.NoiseVariance;
                mg.Seed = lab.Seed;
                if (!string.IsNullOrEmpty(lab.Name)) mg.Name = lab.Name;
            }
            result[z] = mg;
        }
        return result;
    }

    /// <summary>
    /// The length check that needs no open: a named pipe or a device reports 0 bytes, and opening a pipe would block until
    /// something writes to it.
    /// </summary>
    private static void RequireHeaderLength(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length < MrcHeader.Length)
        {
            throw new MrcFormatException(MrcErrorReason.Truncated,
                $"The file has {info.Length} bytes, fewer than the 1024-byte MRC header. It is not a complete MRC/CCP4 file " +
                "(a named pipe or a device also reports 0 bytes and is not read: give a regular file).", path);
        }
    }

    private static FileStream OpenRead(string path)
        => new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    private static T Wrap<T>(string path, Func<T> f)
    {
        try { return f(); }
        catch (MrcFormatException ex) when (ex.Path == null) { throw ex.WithPath(path); }
    }
}

/// <summary>
/// The CryoEmPS metadata label of a micrograph section: "CryoEmPS mic=&lt;section&gt; sigma2=&lt;σ²&gt; seed=&lt;seed|none&gt; name=&lt;name&gt;".
/// σ² is written with round-trip precision ("R"), so it reads back bit-exactly.
/// </summary>
internal static class MicrographLabel
{
    private static readonly Regex Pattern = new(
        @"^CryoEmPS mic=(?<z>\d+) sigma2=(?<s>\S+) seed=(?<seed>-?\d+|none)(?: name=(?<name>.*))?$", RegexOptions.CultureInvariant);

    public static string Format(int section, Micrograph m)
    {
        string s = $"CryoEmPS mic={section} sigma2={m.NoiseVariance.ToString("R", CultureInfo.InvariantCulture)} seed={(m.Seed?.ToString(CultureInfo.InvariantCulture) ?? "none")}";
        string name = new string((m.Name ?? "").Where(c => c >= 0x20 && c < 0x7F).ToArray());
        if (name.Length > 0 && s.Length + 6 + name.Length <= 80) s += " name=" + name;
        return s;
    }

    public static Dictionary<int, (double NoiseVariance, int? Seed, string? Name)> ParseAll(IEnumerable<string> labels)
    {
        var d = new Dictionary<int, (double, int?, string?)>();
        foreach (var l in labels)
        {
            var m = Pattern.Match(l.Trim());
            if (!m.Success) continue;
            if (!int.TryParse(m.Groups["z"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int z)) continue;
            if (!double.TryParse(m.Groups["s"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s2)) s2 = double.NaN;
            if (double.IsInfinity(s2) || s2 < 0)
            {
                // NaN is written for an unknown σ²; anything else must pass the range check of -NoiseVariance.
                throw new MrcFormatException(MrcErrorReason.InvalidLabel,
                    $"The CryoEmPS label of section {z} gives the noise variance sigma2={m.Groups["s"].Value}; it must be a finite " +
                    "number ≥ 0 (or NaN for unknown). The header was edited or damaged: fix the label, or give -NoiseVariance.");
            }
            int? seed = int.TryParse(m.Groups["seed"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int sd) ? sd : null;
            string? name = m.Groups["name"].Success ? m.Groups["name"].Value : null;
            d[z] = (s2, seed, name);
        }
        return d;
    }
}
