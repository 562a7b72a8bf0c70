using System.Buffers.Binary;
using System.Text;

namespace CryoEmPS.Core.IO;

/// <summary>Why an MRC/CCP4 file could not be read. The cmdlets turn it into the ErrorId "Mrc" + reason.</summary>
public enum MrcErrorReason
{
    /// <summary>The file is shorter than its 1024-byte header, or than the header + extended header + data it describes.</summary>
    Truncated,
    /// <summary>Not an MRC/CCP4 header: no sane byte order, axis mapping that is not a permutation of 1,2,3, negative extended-header size.</summary>
    InvalidHeader,
    /// <summary>A data mode other than 0 (int8), 1 (int16), 2 (float32), 6 (uint16), 12 (float16).</summary>
    UnsupportedMode,
    /// <summary>Zero or negative dimensions, or more than int.MaxValue voxels.</summary>
    InvalidDimensions,
    /// <summary>The extended header (nsymbt bytes) runs past the end of the file.</summary>
    ExtendedHeaderPastEnd,
    /// <summary>The file holds more bytes than the header describes.</summary>
    DataSizeMismatch,
    /// <summary>A CryoEmPS micrograph label holds a value out of range (σ² infinite or negative).</summary>
    InvalidLabel,
}

/// <summary>An MRC/CCP4 file is malformed or uses something this reader does not support.</summary>
public sealed class MrcFormatException : IOException
{
    public MrcFormatException(MrcErrorReason reason, string message, string? path = null)
        : base((path != null ? $"'{path}': " : "") + message) { Reason = reason; Path = path; }

    public MrcErrorReason Reason { get; }
    public string? Path { get; }
    /// <summary>The stable ErrorId the cmdlets use: "Mrc" + <see cref="Reason"/> (e.g. MrcTruncated).</summary>
    public string ErrorId => "Mrc" + Reason;

    internal MrcFormatException WithPath(string path) => new(Reason, Message, path);
}

/// <summary>
/// The 1024-byte MRC2014/CCP4 header. Column/row/section fields are as stored; the X/Y/Z properties map
/// them to axes through mapc/mapr/maps.
/// </summary>
public sealed class MrcHeader
{
    public const int Length = 1024;
    public const int NVersion2014 = 20140;

    public int Columns { get; init; }
    public int Rows { get; init; }
    public int Sections { get; init; }
    public int Mode { get; init; }
    public int ColumnStart { get; init; }
    public int RowStart { get; init; }
    public int SectionStart { get; init; }
    public int Mx { get; init; }
    public int My { get; init; }
    public int Mz { get; init; }
    public float CellX { get; init; }
    public float CellY { get; init; }
    public float CellZ { get; init; }
    public float Alpha { get; init; }
    public float Beta { get; init; }
    public float Gamma { get; init; }
    /// <summary>Axis (1 = X, 2 = Y, 3 = Z) along the columns (fastest in the file).</summary>
    public int MapC { get; init; }
    public int MapR { get; init; }
    public int MapS { get; init; }
    public float DMin { get; init; }
    public float DMax { get; init; }
    public float DMean { get; init; }
    public int SpaceGroup { get; init; }
    /// <summary>nsymbt: bytes of extended header after the main header (skipped).</summary>
    public int ExtendedHeaderSize { get; init; }
    public string ExtendedHeaderType { get; init; } = "";
    public int NVersion { get; init; }
    public float OriginX { get; init; }
    public float OriginY { get; init; }
    public float OriginZ { get; init; }
    public bool HasMapStamp { get; init; }
    public byte[] MachineStamp { get; init; } = new byte[4];
    public bool IsBigEndian { get; init; }
    public float Rms { get; init; }
    public string[] Labels { get; init; } = Array.Empty<string>();
    /// <summary>Mode 0 data are unsigned bytes (only in old IMOD files that say so; MRC2014 mode 0 is signed).</summary>
    public bool Mode0Unsigned { get; init; }

    public int BytesPerVoxel => BytesPerVoxelOf(Mode);
    public long VoxelCount => (long)Columns * Rows * Sections;
    public long DataOffset => Length + (long)ExtendedHeaderSize;
    public long DataLength => VoxelCount * BytesPerVoxel;

    private int AxisSize(int axis) => MapC == axis ? Columns : MapR == axis ? Rows : Sections;
    private int AxisStart(int axis) => MapC == axis ? ColumnStart : MapR == axis ? RowStart : SectionStart;
    public int SizeX => AxisSize(1);
    public int SizeY => AxisSize(2);
    public int SizeZ => AxisSize(3);
    public int StartX => AxisStart(1);
    public int StartY => AxisStart(2);
    public int StartZ => AxisStart(3);

    /// <summary>
    /// cella.x / mx in Å, 0 when either is 0 (unknown). The cell is stored as float32, so the quotient is
    /// given as the shortest decimal d (at most 9 significant digits) whose float32 d × mx is the stored
    /// cell: a pixel size of 1.1 written as a cell of (float)(1.1 × n) reads back as exactly 1.1.
    /// </summary>
    public double VoxelSize => VoxelSizeFromCell(CellX, Mx);

    public static double VoxelSizeFromCell(float cell, int m)
    {
        if (m <= 0 || !(cell > 0) || float.IsInfinity(cell)) return 0;
        double q = (double)cell / m;
        for (int digits = 1; digits <= 9; digits++)
        {
            double scale = Math.Pow(10, digits - 1 - (int)Math.Floor(Math.Log10(q)));
            double d = Math.Round(q * scale) / scale;
            if ((float)(d * m) == cell) return d;
        }
        return q;
    }

    public static int BytesPerVoxelOf(int mode) => mode switch { 0 => 1, 1 => 2, 2 => 4, 6 => 2, 12 => 2, _ => 0 };
    public static bool IsSupportedMode(int mode) => BytesPerVoxelOf(mode) > 0;

    /// <summary>
    /// Parses and validates a header against the length of the file it came from. Nothing is allocated
    /// beyond the header object, whatever the header claims. Throws <see cref="MrcFormatException"/>.
    /// </summary>
    public static MrcHeader Parse(ReadOnlySpan<byte> h, long fileLength)
    {
        if (h.Length < Length || fileLength < Length)
            throw new MrcFormatException(MrcErrorReason.Truncated,
                $"The file has {Math.Min(h.Length, fileLength)} bytes, fewer than the 1024-byte MRC header. It is not a complete MRC/CCP4 file.");

        bool hasMap = h[208] == (byte)'M' && h[209] == (byte)'A' && h[210] == (byte)'P';
        byte st = h[212];
        bool big;
        if (st == 0x44 || st == 0x4C) big = false;       // 0x44 0x44 (MRC2014) / 0x44 0x41 (CCP4) little-endian
        else if (st == 0x11) big = true;
        else
        {
            // Unknown stamp: take the byte order in which the header is sane.
            bool le = Sane(h, false, true), be = Sane(h, true, true);
            if (le) big = false;
            else if (be) big = true;
            else if (Sane(h, false, false)) big = false;
            else if (Sane(h, true, false)) big = true;
            else
                throw new MrcFormatException(MrcErrorReason.InvalidHeader,
                    "The header is not an MRC/CCP4 header in either byte order (its axis mapping mapc/mapr/maps is not a permutation of 1,2,3 and its machine stamp is unknown). Check that this is an MRC/CCP4 map or image stack.");
        }


        int nx = RI(h, big, 0), ny = RI(h, big, 1), nz = RI(h, big, 2), mode = RI(h, big, 3);
        int mapc = RI(h, big, 16), mapr = RI(h, big, 17), maps = RI(h, big, 18);
        if (mapc == 0 && mapr == 0 && maps == 0) { mapc = 1; mapr = 2; maps = 3; } // some old writers leave them 0
        if (!IsPermutation(mapc, mapr, maps))
            throw new MrcFormatException(MrcErrorReason.InvalidHeader,
                $"The axis mapping mapc/mapr/maps = {mapc},{mapr},{maps} is not a permutation of 1,2,3, so this is not a valid MRC/CCP4 header.");
        if (!IsSupportedMode(mode))
            throw new MrcFormatException(MrcErrorReason.UnsupportedMode,
                $"Data mode {mode} is not supported. Supported modes: 0 (int8), 1 (int16), 2 (float32), 6 (uint16), 12 (float16). Convert the file to mode 2 (float32), e.g. with 'newstack -mode 2' or mrcfile.");
        // nx·ny ≤ 2⁶² fits a long; checking it first keeps nx·ny·nz from wrapping (8 × 1073807362 × 2147352580 is 64 mod 2⁶⁴).
        long plane = (long)nx * ny;
        if (nx <= 0 || ny <= 0 || nz <= 0 || plane > int.MaxValue || plane * nz > int.MaxValue)
            throw new MrcFormatException(MrcErrorReason.InvalidDimensions,
                $"The dimensions nx, ny, nz = {nx}, {ny}, {nz} are invalid: each must be ≥ 1 and their product at most {int.MaxValue}.");
        int nsymbt = RI(h, big, 23);
        if (nsymbt < 0)
            throw new MrcFormatException(MrcErrorReason.InvalidHeader, $"The extended-header size nsymbt = {nsymbt} is negative.");
        if (Length + (long)nsymbt > fileLength)
            throw new MrcFormatException(MrcErrorReason.ExtendedHeaderPastEnd,
                $"The extended header ({nsymbt} bytes, nsymbt) runs past the end of the {fileLength}-byte file.");
        long need = Length + (long)nsymbt + (long)nx * ny * nz * BytesPerVoxelOf(mode);
        if (need > fileLength)
            throw new MrcFormatException(MrcErrorReason.Truncated,
                $"The header describes {nx}×{ny}×{nz} voxels of mode {mode} ({need} bytes with headers), but the file has only {fileLength} bytes. The file is truncated or the header is wrong.");
        if (need < fileLength)
            throw new MrcFormatException(MrcErrorReason.DataSizeMismatch,
                $"The header describes {need} bytes (headers + {nx}×{ny}×{nz} voxels of mode {mode}), but the file has {fileLength} bytes. The header does not describe this file's data.");

        int nlabl = Math.Clamp(RI(h, big, 55), 0, 10);
        var all = new string[10];
        int count = nlabl;
        for (int i = 0; i < 10; i++)
        {
            all[i] = Encoding.ASCII.GetString(h.Slice(224 + 80 * i, 80)).TrimEnd('\0', ' ');
            if (all[i].Length > 0) count = Math.Max(count, i + 1);
        }
        var labels = all[..count];

        bool imod = RI(h, big, 38) == 1146047817; // 'IMOD' stamp
        bool unsigned0 = imod && mode == 0 && (RI(h, big, 39) & 1) == 0;

        return new MrcHeader
        {
            Columns = nx, Rows = ny, Sections = nz, Mode = mode,
            ColumnStart = RI(h, big, 4), RowStart = RI(h, big, 5), SectionStart = RI(h, big, 6),
            Mx = RI(h, big, 7), My = RI(h, big, 8), Mz = RI(h, big, 9),
            CellX = RF(h, big, 10), CellY = RF(h, big, 11), CellZ = RF(h, big, 12), Alpha = RF(h, big, 13), Beta = RF(h, big, 14), Gamma = RF(h, big, 15),
            MapC = mapc, MapR = mapr, MapS = maps,
            DMin = RF(h, big, 19), DMax = RF(h, big, 20), DMean = RF(h, big, 21), SpaceGroup = RI(h, big, 22), ExtendedHeaderSize = nsymbt,
            ExtendedHeaderType = Encoding.ASCII.GetString(h.Slice(104, 4)).TrimEnd('\0', ' '),
            NVersion = RI(h, big, 27),
            OriginX = RF(h, big, 49), OriginY = RF(h, big, 50), OriginZ = RF(h, big, 51),
            HasMapStamp = hasMap, MachineStamp = h.Slice(212, 4).ToArray(), IsBigEndian = big,
            Rms = RF(h, big, 54), Labels = labels, Mode0Unsigned = unsigned0,
        };
    }

    private static int RI(ReadOnlySpan<byte> h, bool big, int word)
        => big ? BinaryPrimitives.ReadInt32BigEndian(h.Slice(word * 4)) : BinaryPrimitives.ReadInt32LittleEndian(h.Slice(word * 4));
    private static float RF(ReadOnlySpan<byte> h, bool big, int word)
        => big ? BinaryPrimitives.ReadSingleBigEndian(h.Slice(word * 4)) : BinaryPrimitives.ReadSingleLittleEndian(h.Slice(word * 4));

    private static bool IsPermutation(int a, int b, int c)
        => a >= 1 && a <= 3 && b >= 1 && b <= 3 && c >= 1 && c <= 3 && a != b && b != c && a != c;

    private static bool Sane(ReadOnlySpan<byte> h, bool big, bool strict)
    {
        int mapc = RI(h, big, 16), mapr = RI(h, big, 17), maps = RI(h, big, 18);
        bool axes = IsPermutation(mapc, mapr, maps) || (mapc == 0 && mapr == 0 && maps == 0);
        if (!axes) return false;
        if (!strict) return true;
        return IsSupportedMode(RI(h, big, 3)) && RI(h, big, 0) > 0 && RI(h, big, 1) > 0 && RI(h, big, 2) > 0;
    }
}
