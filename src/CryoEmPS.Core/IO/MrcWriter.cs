using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.IO;

/// <summary>Header statistics of the float32 values as stored: min, max, mean, and rms = population standard deviation (MRC2014).</summary>
public readonly record struct MrcStatistics(double Min, double Max, double Mean, double Rms);

/// <summary>
/// Writes MRC2014 files: mode 2 (float32) little-endian, 'MAP ' and machine stamp 0x44 0x44 0 0, nversion
/// 20140, mapc/mapr/maps = 1,2,3, mx/my/mz = nx/ny/nz, cell = voxel size × size, header statistics of the
/// stored float32 values, ispg 1 for a volume and 0 for images, stacks and micrographs, and a label
/// "CryoEmPS &lt;version&gt;" (no clock time: the same data give the same bytes; see <see cref="ProgramLabel"/>).
/// The Stream overloads write to any stream; the path overloads
/// write atomically through <see cref="AtomicFile"/> (temporary file + rename).
/// </summary>
public static class MrcWriter
{
    public const int VolumeSpaceGroup = 1;
    public const int ImageSpaceGroup = 0;

    /// <summary>
    /// The environment variable of reproducible builds (seconds since 1970-01-01 UTC), honoured by <see cref="ProgramLabel"/>.
    /// </summary>
    public const string SourceDateEpochVariable = "SOURCE_DATE_EPOCH";

    /// <summary>
    /// The first label of every file written: "CryoEmPS 0.1.0", with no clock time, so writing the same data twice gives the
    /// same bytes (the file's own time stamp says when it was written). When SOURCE_DATE_EPOCH holds a time, that time is
    /// added ("CryoEmPS 0.1.0 2025-01-31 12:00:00"), as reproducible builds expect.
    /// </summary>
    public static string ProgramLabel()
    {
        var v = typeof(MrcWriter).Assembly.GetName().Version;
        string ver = v == null ? "0.0.0" : $"{v.Major}.{v.Minor}.{Math.Max(v.Build, 0)}";
        string? epoch = Environment.GetEnvironmentVariable(SourceDateEpochVariable);
        if (long.TryParse(epoch, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds)
            && seconds >= 0 && seconds <= 253402300799)
        {
            var time = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
            return $"CryoEmPS {ver} {time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}";
        }
        return $"CryoEmPS {ver}";
    }

    public static void WriteVolume(Stream stream, Volume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Write(stream, volume.Data, volume.SizeZ, volume.SizeY, volume.SizeX, volume.VoxelSize, VolumeSpaceGroup,
            new[] { ProgramLabel() }, volume.StartX, volume.StartY, volume.StartZ);
    }

    public static void WriteImageStack(Stream stream, ImageStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        Write(stream, stack.Data, stack.Count, stack.SizeY, stack.SizeX, stack.PixelSize, ImageSpaceGroup, new[] { ProgramLabel() });
    }

    /// <summary>Largest number of micrographs whose σ² and seed fit in the labels (one label each after the program label).</summary>
    public const int MaxMicrographLabels = 9;

    /// <summary>
    /// Writes one micrograph (nz = 1) or a stack of equally sized micrographs (one per section). Each of the
    /// first <see cref="MaxMicrographLabels"/> sections gets a label "CryoEmPS mic=&lt;z&gt; sigma2=&lt;σ²&gt; seed=&lt;seed&gt;"
    /// so <see cref="MrcReader.ReadMicrographs"/> restores NoiseVariance and Seed bit-exactly.
    /// The pixel size is taken from the first micrograph.
    /// </summary>
    public static void WriteMicrographs(Stream stream, IReadOnlyList<Micrograph> micrographs)
    {
        ArgumentNullException.ThrowIfNull(micrographs);
        if (micrographs.Count == 0) throw new ArgumentException("No micrographs to write.", nameof(micrographs));
        var first = micrographs[0];
        foreach (var m in micrographs)
            if (m.SizeY != first.SizeY || m.SizeX != first.SizeX)
                throw new ArgumentException($"All micrographs in one file must have the same size; got {first.SizeY}x{first.SizeX} and {m.SizeY}x{m.SizeX}. Write them to separate files.", nameof(micrographs));
        var labels = new List<string> { ProgramLabel() };
        for (int i = 0; i < Math.Min(micrographs.Count, MaxMicrographLabels); i++) labels.Add(MicrographLabel.Format(i, micrographs[i]));
        long n = (long)first.SizeY * first.SizeX;
        if (n * micrographs.Count > int.MaxValue) throw new ArgumentException("Too many micrographs for one file.", nameof(micrographs));
        double[] data;
        if (micrographs.Count == 1) data = first.Data;
        else
        {
            data = new double[n * micrographs.Count];
            for (int i = 0; i < micrographs.Count; i++) micrographs[i].Data.CopyTo(data, i * n);
        }
        Write(stream, data, micrographs.Count, first.SizeY, first.SizeX, first.PixelSize, ImageSpaceGroup, labels);
    }

    public static void WriteVolume(string path, Volume volume, bool overwrite) => AtomicFile.Write(path, s => WriteVolume(s, volume), overwrite);
    public static void WriteImageStack(string path, ImageStack stack, bool overwrite) => AtomicFile.Write(path, s => WriteImageStack(s, stack), overwrite);
    public static void WriteMicrographs(string path, IReadOnlyList<Micrograph> micrographs, bool overwrite) => AtomicFile.Write(path, s => WriteMicrographs(s, micrographs), overwrite);

    /// <summary>Statistics of the values as float32 would store them (what the header must describe).</summary>
    public static MrcStatistics ComputeStatistics(ReadOnlySpan<double> data)
    {
        if (data.Length == 0) return new MrcStatistics(0, 0, 0, 0);
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        foreach (var d in data)
        {
            double v = (float)d;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        double mean = sum / data.Length, ss = 0;
        foreach (var d in data) { double e = (float)d - mean; ss += e * e; }
        return new MrcStatistics(min, max, mean, Math.Sqrt(ss / data.Length));
    }

    /// <summary>
    /// Writes a mode-2 little-endian MRC2014 file of nz sections of ny×nx values (data in [z, y, x] order).
    /// Throws <see cref="ArgumentException"/> before writing anything when a value is NaN, infinite or
    /// beyond float32 range.
    /// </summary>
    public static void Write(Stream stream, ReadOnlySpan<double> data, int nz, int ny, int nx, double voxelSize, int spaceGroup,
        IReadOnlyList<string> labels, int startX = 0, int startY = 0, int startZ = 0)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (nz <= 0 || ny <= 0 || nx <= 0) throw new ArgumentOutOfRangeException(nameof(nx), "Dimensions must be positive.");
        if ((long)nz * ny * nx != data.Length) throw new ArgumentException($"Data length {data.Length} does not match {nz}x{ny}x{nx}.", nameof(data));
        if (!(voxelSize >= 0) || double.IsInfinity(voxelSize)) throw new ArgumentOutOfRangeException(nameof(voxelSize), "Voxel size must be finite and ≥ 0.");
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite((float)data[i]))
            {
                int z = (int)(i / ((long)nx * ny)), y = (int)(i / nx % ny), x = i % nx;
                throw new ArgumentException($"Value {data[i]} at [z={z}, y={y}, x={x}] cannot be stored as a finite float32 (MRC mode 2). Remove NaN/infinite values first.", nameof(data));
            }
        if (labels.Count > 10) throw new ArgumentException("An MRC header holds at most 10 labels.", nameof(labels));

        var st = ComputeStatistics(data);
        var h = new byte[MrcHeader.Length];
        var hs = h.AsSpan();
        void I(int word, int v) => BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(word * 4), v);
        void F(int word, double v) => BinaryPrimitives.WriteSingleLittleEndian(h.AsSpan(word * 4), (float)v);
        I(0, nx); I(1, ny); I(2, nz); I(3, 2);
        I(4, startX); I(5, startY); I(6, startZ);
        I(7, nx); I(8, ny); I(9, nz);
        F(10, voxelSize * nx); F(11, voxelSize * ny); F(12, voxelSize * nz);
        F(13, 90); F(14, 90); F(15, 90);
        I(16, 1); I(17, 2); I(18, 3);
        F(19, st.Min); F(20, st.Max); F(21, st.Mean);
        I(22, spaceGroup); I(23, 0);
        I(27, MrcHeader.NVersion2014);
        h[208] = (byte)'M'; h[209] = (byte)'A'; h[210] = (byte)'P'; h[211] = (byte)' ';
        h[212] = 0x44; h[213] = 0x44;
        F(54, st.Rms);
        int nl = 0;
        foreach (var l in labels)
        {
            var bytes = Encoding.ASCII.GetBytes(new string(l.Select(c => c >= 0x20 && c < 0x7F ? c : '?').ToArray()));
            int len = Math.Min(80, bytes.Length);
            bytes.AsSpan(0, len).CopyTo(hs.Slice(224 + 80 * nl));
            for (int k = len; k < 80; k++) h[224 + 80 * nl + k] = (byte)' ';
            nl++;
        }
        I(55, nl);
        stream.Write(h);

        var buf = new byte[1 << 16];
        int per = buf.Length / 4;
        for (int off = 0; off < data.Length; off += per)
        {
            int cnt = Math.Min(per, data.Length - off);
            for (int i = 0; i < cnt; i++) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(4 * i), (float)data[off + i]);
            stream.Write(buf, 0, 4 * cnt);
        }
        stream.Flush();
    }
}
