using System.Buffers.Binary;
using System.Text;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// Builds MRC files byte by byte, independently of MrcWriter, so reader tests do not trust the writer.
/// Values are given in FILE order (columns fastest, then rows, then sections).
/// </summary>
internal sealed class MrcFileBuilder
{
    public int Nc = 1, Nr = 1, Ns = 1, Mode = 2;
    public int MapC = 1, MapR = 2, MapS = 3;
    public int StartC, StartR, StartS;
    public int Mx = -1, My = -1, Mz = -1;
    public float CellX, CellY, CellZ;
    public int Ispg = 1, Nsymbt;
    public bool BigEndian;
    public byte[]? Stamp;          // null: the proper stamp for the byte order
    public bool MapStamp = true;
    public double[] FileValues = Array.Empty<double>();
    public string[] Labels = Array.Empty<string>();
    /// <summary>Extra bytes appended (negative: bytes cut from the end).</summary>
    public int Tail;

    public byte[] Build()
    {
        var h = new byte[1024];
        void I(int w, int v) { if (BigEndian) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(w * 4), v); else BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(w * 4), v); }
        void F(int w, float v) { if (BigEndian) BinaryPrimitives.WriteSingleBigEndian(h.AsSpan(w * 4), v); else BinaryPrimitives.WriteSingleLittleEndian(h.AsSpan(w * 4), v); }
        I(0, Nc); I(1, Nr); I(2, Ns); I(3, Mode); I(4, StartC); I(5, StartR); I(6, StartS);
        I(7, Mx < 0 ? Nc : Mx); I(8, My < 0 ? Nr : My); I(9, Mz < 0 ? Ns : Mz);
        F(10, CellX); F(11, CellY); F(12, CellZ); F(13, 90); F(14, 90); F(15, 90);
        I(16, MapC); I(17, MapR); I(18, MapS); I(22, Ispg); I(23, Nsymbt); I(27, 20140);
        if (MapStamp) Encoding.ASCII.GetBytes("MAP ").CopyTo(h, 208);
        (Stamp ?? (BigEndian ? new byte[] { 0x11, 0x11, 0, 0 } : new byte[] { 0x44, 0x44, 0, 0 })).CopyTo(h, 212);
        I(55, Labels.Length);
        for (int i = 0; i < Labels.Length; i++) Encoding.ASCII.GetBytes(Labels[i]).CopyTo(h, 224 + 80 * i);

        var ms = new MemoryStream();
        ms.Write(h);
        ms.Write(new byte[Math.Max(0, Nsymbt)]);
        var b = new byte[8];
        foreach (var v in FileValues)
        {
            int n;
            switch (Mode)
            {
                case 0: b[0] = (byte)(sbyte)v; n = 1; break;
                case 1: if (BigEndian) BinaryPrimitives.WriteInt16BigEndian(b, (short)v); else BinaryPrimitives.WriteInt16LittleEndian(b, (short)v); n = 2; break;
                case 2: if (BigEndian) BinaryPrimitives.WriteSingleBigEndian(b, (float)v); else BinaryPrimitives.WriteSingleLittleEndian(b, (float)v); n = 4; break;
                case 6: if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v); else BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); n = 2; break;
                case 12: if (BigEndian) BinaryPrimitives.WriteHalfBigEndian(b, (Half)v); else BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v); n = 2; break;
                default: n = 4; break;
            }
            ms.Write(b, 0, n);
        }
        if (Tail > 0) ms.Write(new byte[Tail]);
        var bytes = ms.ToArray();
        return Tail < 0 ? bytes[..(bytes.Length + Tail)] : bytes;
    }
}

/// <summary>
/// The checks Python's mrcfile.validate makes (mrcfile 1.4/1.5, MrcObject.validate + file-size check),
/// encoded here because mrcfile is not installable: header size, 'MAP ' stamp, machine stamp, mode,
/// non-negative dimensions, cell dimensions, axis mapping, ispg and mz for volume stacks, nlabl vs label
/// text, nversion, rms/dmin/dmax/dmean against the data (numpy.isclose: rtol 1e-5, atol 1e-8), file size.
/// Returns the list of problems (empty = valid).
/// </summary>
internal static class MrcValidator
{
    public static List<string> Validate(byte[] file)
    {
        var errors = new List<string>();
        if (file.Length < 1024) { errors.Add("file shorter than header"); return errors; }
        var h = file.AsSpan(0, 1024);
        if (Encoding.ASCII.GetString(h.Slice(208, 4)) != "MAP ") errors.Add("map ID string is not 'MAP '");
        byte[] st = h.Slice(212, 4).ToArray();
        bool le = (st[0] == 0x44 && (st[1] == 0x44 || st[1] == 0x41) && st[2] == 0 && st[3] == 0);
        bool be = st[0] == 0x11 && st[1] == 0x11 && st[2] == 0 && st[3] == 0;
        if (!le && !be) errors.Add("invalid machine stamp");
        int I(int w) => be ? BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(w * 4)) : BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(w * 4));
        float F(int w) => be ? BinaryPrimitives.ReadSingleBigEndian(file.AsSpan(w * 4)) : BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(w * 4));
        int nx = I(0), ny = I(1), nz = I(2), mode = I(3), mx = I(7), my = I(8), mz = I(9), ispg = I(22), nsymbt = I(23);
        if (mode is not (0 or 1 or 2 or 3 or 4 or 6 or 12 or 101)) errors.Add($"invalid mode {mode}");
        foreach (var (name, v) in new[] { ("nx", nx), ("ny", ny), ("nz", nz), ("mx", mx), ("my", my), ("mz", mz) })
            if (v < 0) errors.Add($"{name} negative");
        if (F(10) < 0 || F(11) < 0 || F(12) < 0) errors.Add("cell dimensions negative");
        var axes = new[] { I(16), I(17), I(18) }.OrderBy(x => x).ToArray();
        if (!axes.SequenceEqual(new[] { 1, 2, 3 })) errors.Add("axis mapping is not a permutation of 1,2,3");
        if (!((ispg >= 0 && ispg <= 230) || (ispg >= 400 && ispg <= 630))) errors.Add($"ispg {ispg} invalid");
        if (ispg >= 401 && ispg <= 630 && (mz <= 0 || nz % mz != 0)) errors.Add("volume stack: nz not a multiple of mz");
        int nlabl = I(55), textLabels = 0;
        bool seenEmpty = false;
        for (int i = 0; i < 10; i++)
        {
            bool text = Encoding.ASCII.GetString(file, 224 + 80 * i, 80).Trim('\0', ' ', '\t').Length > 0;
            if (text) { textLabels++; if (seenEmpty) errors.Add("empty label between text labels"); }
            else seenEmpty = true;
        }
        if (textLabels != nlabl) errors.Add($"nlabl {nlabl} but {textLabels} labels with text");
        int nversion = I(27);
        if (nversion != 20140 && nversion != 20141) errors.Add($"nversion {nversion} not 20140/20141");
        if (mode != 2) { errors.Add("validator only checks statistics for mode 2"); return errors; }
        long expected = 1024L + nsymbt + 4L * nx * ny * nz;
        if (file.Length != expected) { errors.Add($"file size {file.Length} != expected {expected}"); return errors; }
        int n = nx * ny * nz;
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        var vals = new double[n];
        for (int i = 0; i < n; i++)
        {
            var s = file.AsSpan(1024 + nsymbt + 4 * i, 4);
            double v = be ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s);
            vals[i] = v; min = Math.Min(min, v); max = Math.Max(max, v); sum += v;
        }
        double mean = sum / n, ss = 0;
        foreach (var v in vals) ss += (v - mean) * (v - mean);
        double rms = Math.Sqrt(ss / n);
        static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-8 + 1e-5 * Math.Abs(b);
        if (!(Close(rms, F(54)) || F(54) < 0)) errors.Add($"rms {F(54)} != {rms}");
        if (F(20) >= F(19))
        {
            if (!Close(min, F(19))) errors.Add($"dmin {F(19)} != {min}");
            if (!Close(max, F(20))) errors.Add($"dmax {F(20)} != {max}");
        }
        if (F(21) >= Math.Min(F(19), F(20)) && !Close(mean, F(21))) errors.Add($"dmean {F(21)} != {mean}");
        return errors;
    }
}
