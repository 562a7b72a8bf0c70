using System.Buffers.Binary;
using System.IO.Compression;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.IO;

/// <summary>
/// Greyscale PNG pictures of micrographs, image stacks (a montage) and volumes (central slices and a
/// projection), for looking at data. Values are mapped linearly to 0..255 between two percentiles
/// (default 0.5 % and 99.5 %), row 0 at the top, as MRC viewers show [y, x] data. Written with the
/// framework's zlib: no native dependency.
/// </summary>
public static class PngPicture
{
    /// <summary>An 8-bit greyscale picture, row-major, row 0 at the top.</summary>
    public sealed record Picture(int Width, int Height, byte[] Pixels);

    /// <summary>A micrograph as it is, optionally shrunk by an integer factor (block mean) to at most <paramref name="maxSide"/> pixels.</summary>
    public static Picture FromMicrograph(Micrograph m, int maxSide = 1024, double lowPercentile = 0.5, double highPercentile = 99.5)
    {
        int f = Math.Max(1, (int)Math.Ceiling(Math.Max(m.SizeX, m.SizeY) / (double)maxSide));
        int w = m.SizeX / f, h = m.SizeY / f;
        var v = new double[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double s = 0;
                for (int dy = 0; dy < f; dy++) for (int dx = 0; dx < f; dx++) s += m.Data[(long)(y * f + dy) * m.SizeX + x * f + dx];
                v[y * w + x] = s / (f * f);
            }
        return Scale(v, w, h, lowPercentile, highPercentile);
    }

    /// <summary>A montage of the images of a stack in a near-square grid, separated by a 1-pixel gap, each image magnified by <paramref name="zoom"/>.</summary>
    public static Picture FromImageStack(ImageStack s, int zoom = 4, int maxImages = 64, double lowPercentile = 0.5, double highPercentile = 99.5)
    {
        int n = Math.Min(s.Count, maxImages);
        int cols = (int)Math.Ceiling(Math.Sqrt(n)), rows = (int)Math.Ceiling(n / (double)cols);
        var tiles = new List<(double[] Data, int W, int H)>();
        for (int i = 0; i < n; i++) tiles.Add((s.Image(i).ToArray(), s.SizeX, s.SizeY));
        return Montage(tiles, cols, rows, zoom, lowPercentile, highPercentile);
    }

    /// <summary>
    /// A volume as a row of four panels: the central z, y and x slices (through index floor(n/2)) and the
    /// projection along z, each magnified by <paramref name="zoom"/>. The three slices share one grey scale;
    /// the projection has its own.
    /// </summary>
    public static Picture FromVolume(Volume v, int zoom = 8, double lowPercentile = 0.5, double highPercentile = 99.5)
    {
        int nz = v.SizeZ, ny = v.SizeY, nx = v.SizeX;
        var zs = new double[ny * nx]; var ys = new double[nz * nx]; var xs = new double[nz * ny]; var pz = new double[ny * nx];
        for (int z = 0; z < nz; z++)
            for (int y = 0; y < ny; y++)
                for (int x = 0; x < nx; x++)
                {
                    double val = v[z, y, x];
                    if (z == nz / 2) zs[y * nx + x] = val;
                    if (y == ny / 2) ys[z * nx + x] = val;
                    if (x == nx / 2) xs[z * ny + y] = val;
                    pz[y * nx + x] += val;
                }
        // One scale for the slices: rescale the projection to the slices' range so the montage can share the mapping.
        var all = zs.Concat(ys).Concat(xs).ToArray();
        var (lo, hi) = Percentiles(all, lowPercentile, highPercentile);
        var (plo, phi) = Percentiles(pz, lowPercentile, highPercentile);
        for (int i = 0; i < pz.Length; i++) pz[i] = lo + (pz[i] - plo) / (phi > plo ? phi - plo : 1) * (hi - lo);
        var tiles = new List<(double[], int, int)> { (zs, nx, ny), (ys, nx, nz), (xs, ny, nz), (pz, nx, ny) };
        return Montage(tiles, 4, 1, zoom, lo, hi, fixedRange: true);
    }

    /// <summary>Writes the picture as a PNG (8-bit greyscale, zlib-compressed) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, Picture p)
    {
        stream.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), p.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), p.Height);
        ihdr[8] = 8; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // depth 8, greyscale, deflate, adaptive filter, no interlace
        WriteChunk(stream, "IHDR", ihdr);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[p.Width + 1];
            for (int y = 0; y < p.Height; y++)
            {
                row[0] = 0; // filter: none
                Buffer.BlockCopy(p.Pixels, y * p.Width, row, 1, p.Width);
                z.Write(row);
            }
        }
        WriteChunk(stream, "IDAT", raw.ToArray());
        WriteChunk(stream, "IEND", Array.Empty<byte>());
    }

    private static Picture Montage(List<(double[] Data, int W, int H)> tiles, int cols, int rows, int zoom, double low, double high, bool fixedRange = false)
    {
        double lo = low, hi = high;
        if (!fixedRange)
            (lo, hi) = Percentiles(tiles.SelectMany(t => t.Data).ToArray(), low, high);
        int tw = tiles.Max(t => t.W) * zoom, th = tiles.Max(t => t.H) * zoom;
        int w = cols * tw + (cols - 1), h = rows * th + (rows - 1);
        var px = new byte[w * h];
        Array.Fill(px, (byte)255); // white gaps
        for (int i = 0; i < tiles.Count; i++)
        {
            var (d, tW, tH) = tiles[i];
            int ox = (i % cols) * (tw + 1), oy = (i / cols) * (th + 1);
            for (int y = 0; y < tH * zoom; y++)
                for (int x = 0; x < tW * zoom; x++)
                    px[(oy + y) * w + ox + x] = Grey(d[(y / zoom) * tW + x / zoom], lo, hi);
        }
        return new Picture(w, h, px);
    }

    private static Picture Scale(double[] v, int w, int h, double lowP, double highP)
    {
        var (lo, hi) = Percentiles(v, lowP, highP);
        var px = new byte[w * h];
        for (int i = 0; i < v.Length; i++) px[i] = Grey(v[i], lo, hi);
        return new Picture(w, h, px);
    }

    private static byte Grey(double v, double lo, double hi)
    {
        if (!(hi > lo)) return 128;
        double t = (v - lo) / (hi - lo);
        return (byte)Math.Clamp((int)Math.Round(255 * t), 0, 255);
    }

    /// <summary>The values at two percentiles (0..100) of the finite entries.</summary>
    public static (double Low, double High) Percentiles(double[] values, double lowPercentile, double highPercentile)
    {
        var s = values.Where(double.IsFinite).ToArray();
        if (s.Length == 0) return (0, 0);
        Array.Sort(s);
        double At(double p) => s[(int)Math.Clamp(Math.Round(p / 100 * (s.Length - 1)), 0, s.Length - 1)];
        return (At(lowPercentile), At(highPercentile));
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32(typeBytes, 0xFFFFFFFFu);
        crc = Crc32(data, crc) ^ 0xFFFFFFFFu;
        Span<byte> c = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(c, crc);
        s.Write(c);
    }

    private static readonly uint[] CrcTable = MakeCrcTable();

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>CRC-32 (PNG/zlib polynomial) continued from <paramref name="crc"/> (start with 0xFFFFFFFF, finish by xor 0xFFFFFFFF).</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data, uint crc)
    {
        foreach (var b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
