using System.Buffers.Binary;
using System.IO.Compression;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class PngPictureTests
{
    /// <summary>Decodes our own PNG independently of the writer: chunks, CRCs, zlib, filter bytes.</summary>
    private static (int W, int H, byte[] Px) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int pos = 8, w = 0, h = 0; var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Assert.Equal(Crc32Reference.Compute(png.AsSpan(pos + 4, 4 + len)), crc);
            if (type == "IHDR") { w = BinaryPrimitives.ReadInt32BigEndian(data); h = BinaryPrimitives.ReadInt32BigEndian(data[4..]); Assert.Equal(8, data[8]); Assert.Equal(0, data[9]); }
            if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream(); z.CopyTo(raw);
        var r = raw.ToArray();
        Assert.Equal(h * (w + 1), r.Length);
        var px = new byte[w * h];
        for (int y = 0; y < h; y++) { Assert.Equal(0, r[y * (w + 1)]); Array.Copy(r, y * (w + 1) + 1, px, y * w, w); }
        return (w, h, px);
    }

    [Fact]
    public void MicrographPictureIsAValidPngWithRowZeroAtTheTop()
    {
        var m = new Micrograph(3, 4);
        for (int i = 0; i < 12; i++) m.Data[i] = i; // increases along x, then y
        var pic = PngPicture.FromMicrograph(m, 1024, 0, 100);
        using var ms = new MemoryStream();
        PngPicture.Write(ms, pic);
        var (w, h, px) = Decode(ms.ToArray());
        Assert.Equal(4, w); Assert.Equal(3, h);
        Assert.Equal(0, px[0]);          // minimum at [0,0], top-left
        Assert.Equal(255, px[11]);       // maximum at [2,3], bottom-right
        Assert.Equal((byte)Math.Round(255 * 5 / 11.0), px[5]);
    }

    [Fact]
    public void VolumePictureHasFourPanelsWithTheCentralSlices()
    {
        var v = new Volume(5);
        v[2, 1, 3] = 1; // one voxel in the central z slice, at (y 1, x 3)
        var pic = PngPicture.FromVolume(v, 2, 0, 100);
        Assert.Equal(4 * 10 + 3, pic.Width); Assert.Equal(10, pic.Height);
        // z slice panel: the voxel (y 1, x 3) magnified by 2 is white
        Assert.Equal(255, pic.Pixels[(1 * 2) * pic.Width + 3 * 2]);
        Assert.Equal(255, pic.Pixels[10]); // the gap column between panels is white too
        Assert.Equal(0, pic.Pixels[0]);
    }
}

/// <summary>An independent CRC-32 (bitwise, no table) for checking the writer's table-driven one.</summary>
internal static class Crc32Reference
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
