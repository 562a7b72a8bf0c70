using System.Buffers.Binary;
using CryoEmPS.Core.IO;

namespace CryoEmPS.Core.Tests;

public class MrcReaderTests
{
    private static MrcData ReadBytes(byte[] b) => MrcReader.Read(new MemoryStream(b, writable: false));

    private static MrcFormatException Bad(byte[] b) => Assert.Throws<MrcFormatException>(() => ReadBytes(b));

    // ---- synthetic files: every mode, both byte orders -------------------------------------------------

    public static IEnumerable<object[]> Modes()
    {
        foreach (bool big in new[] { false, true })
        {
            yield return new object[] { 0, big, new double[] { -128, -1, 0, 1, 5, 127 } };
            yield return new object[] { 1, big, new double[] { -32768, -300, 0, 1, 300, 32767 } };
            yield return new object[] { 2, big, new double[] { -1.5, 0, 0.1f, 3.25, 1e30f, -7 } };
            yield return new object[] { 6, big, new double[] { 0, 1, 255, 256, 40000, 65535 } };
            yield return new object[] { 12, big, new double[] { -2, -0.5, 0, 0.333251953125, 1024, 65504 } };
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void ReadsEveryModeInBothByteOrders(int mode, bool big, double[] values)
    {
        // 3 columns x 2 rows x 1 section, identity axes: data order = file order.
        var b = new MrcFileBuilder { Nc = 3, Nr = 2, Ns = 1, Mode = mode, BigEndian = big, FileValues = values }.Build();
        var m = ReadBytes(b);
        Assert.Equal(big, m.Header.IsBigEndian);
        Assert.Equal((1, 2, 3), (m.SizeZ, m.SizeY, m.SizeX));
        Assert.Equal(values, m.Data); // every value exactly representable in its mode
    }

    [Fact]
    public void Mode0IsSignedPerMrc2014()
    {
        var b = new MrcFileBuilder { Nc = 2, Mode = 0, FileValues = new double[] { -100, 100 } }.Build();
        Assert.Equal(new double[] { -100, 100 }, ReadBytes(b).Data);
    }

    [Fact]
    public void GarbageMachineStampFallsBackToTheSaneByteOrder()
    {
        foreach (bool big in new[] { false, true })
        {
            var b = new MrcFileBuilder { Nc = 2, Nr = 2, Mode = 2, BigEndian = big, Stamp = new byte[] { 0, 0, 0, 0 }, FileValues = new double[] { 1, 2, 3, 4 } }.Build();
            var m = ReadBytes(b);
            Assert.Equal(big, m.Header.IsBigEndian);
            Assert.Equal(new double[] { 1, 2, 3, 4 }, m.Data);
        }
    }

    [Fact]
    public void AcceptsCcp4LittleEndianStamp0x44_0x41()
    {
        var b = new MrcFileBuilder { Nc = 2, Mode = 2, Stamp = new byte[] { 0x44, 0x41, 0, 0 }, FileValues = new double[] { 1, 2 } }.Build();
        Assert.False(ReadBytes(b).Header.IsBigEndian);
    }

    // ---- axis permutations --------------------------------------------------------------------------------

    public static IEnumerable<object[]> Permutations()
    {
        int[][] perms = { new[] { 1, 2, 3 }, new[] { 1, 3, 2 }, new[] { 2, 1, 3 }, new[] { 2, 3, 1 }, new[] { 3, 1, 2 }, new[] { 3, 2, 1 } };
        foreach (var p in perms) foreach (bool big in new[] { false, true }) yield return new object[] { p[0], p[1], p[2], big };
    }

    [Theory]
    [MemberData(nameof(Permutations))]
    public void HonoursEveryAxisOrder(int mapc, int mapr, int maps, bool big)
    {
        // Volume of X=4, Y=3, Z=2 with value f = 100x + 10y + z: any mix-up changes a value.
        int[] size = { 4, 3, 2 }; // X, Y, Z
        int nc = size[mapc - 1], nr = size[mapr - 1], ns = size[maps - 1];
        var file = new double[nc * nr * ns];
        var coord = new int[3];
        for (int s = 0; s < ns; s++)
            for (int r = 0; r < nr; r++)
                for (int c = 0; c < nc; c++)
                {
                    coord[mapc - 1] = c; coord[mapr - 1] = r; coord[maps - 1] = s;
                    file[(s * nr + r) * nc + c] = 100 * coord[0] + 10 * coord[1] + coord[2];
                }
        var b = new MrcFileBuilder
        {
            Nc = nc, Nr = nr, Ns = ns, MapC = mapc, MapR = mapr, MapS = maps, BigEndian = big, FileValues = file,
            StartC = 10 * mapc, StartR = 10 * mapr, StartS = 10 * maps, Ispg = 1,
        }.Build();
        var m = ReadBytes(b);
        Assert.Equal((2, 3, 4), (m.SizeZ, m.SizeY, m.SizeX));
        for (int z = 0; z < 2; z++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    Assert.Equal(100 * x + 10 * y + z, m.Data[(z * 3 + y) * 4 + x]);
        // The start of axis a is the start of whichever of column/row/section maps to it: 10·a here.
        Assert.Equal((10, 20, 30), (m.Header.StartX, m.Header.StartY, m.Header.StartZ));
    }

    [Fact]
    public void VoxelSizeIsCellXOverMx()
    {
        var b = new MrcFileBuilder { Nc = 2, Nr = 2, Ns = 2, Mx = 4, CellX = 6.4f, CellY = 99, CellZ = 99, FileValues = new double[8] }.Build();
        Assert.Equal(1.6, ReadBytes(b).Header.VoxelSize);
        var zero = new MrcFileBuilder { Nc = 2, Mx = 0, CellX = 5, FileValues = new double[2] }.Build();
        Assert.Equal(0, ReadBytes(zero).Header.VoxelSize);
        var zeroCell = new MrcFileBuilder { Nc = 2, CellX = 0, FileValues = new double[2] }.Build();
        Assert.Equal(0, ReadBytes(zeroCell).Header.VoxelSize);
    }

    [Fact]
    public void SkipsTheExtendedHeader()
    {
        var b = new MrcFileBuilder { Nc = 3, Nsymbt = 160, FileValues = new double[] { 7, 8, 9 } }.Build();
        // Fill the extended header with junk that would show up if it were not skipped.
        for (int i = 1024; i < 1024 + 160; i++) b[i] = 0xAB;
        Assert.Equal(new double[] { 7, 8, 9 }, ReadBytes(b).Data);
    }

    // ---- bad input: each fails fast with its reason ------------------------------------------------------

    [Fact]
    public void ShorterThanTheHeaderIsTruncated()
    {
        Assert.Equal(MrcErrorReason.Truncated, Bad(new byte[500]).Reason);
        Assert.Equal(MrcErrorReason.Truncated, Bad(Array.Empty<byte>()).Reason);
    }

    [Fact]
    public void MissingDataIsTruncated()
    {
        var b = new MrcFileBuilder { Nc = 4, Nr = 4, FileValues = new double[16], Tail = -4 }.Build();
        Assert.Equal(MrcErrorReason.Truncated, Bad(b).Reason);
    }

    [Fact]
    public void ExtraBytesAreADataSizeMismatch()
    {
        var b = new MrcFileBuilder { Nc = 4, FileValues = new double[4], Tail = 8 }.Build();
        Assert.Equal(MrcErrorReason.DataSizeMismatch, Bad(b).Reason);
    }

    [Fact]
    public void RandomBytesAreAnInvalidHeader()
    {
        var b = new byte[4096];
        new Random(7).NextBytes(b);
        b[212] = 0x5A; // not a known stamp
        Assert.Equal(MrcErrorReason.InvalidHeader, Bad(b).Reason);
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("This is a text file, not a map. ", 64)));
        Assert.Equal(MrcErrorReason.InvalidHeader, Bad(text).Reason);
    }

    [Theory]
    [InlineData(3)]   // complex int16
    [InlineData(4)]   // complex float32
    [InlineData(101)] // 4-bit
    [InlineData(7)]
    public void UnknownModeIsUnsupported(int mode)
    {
        var b = new MrcFileBuilder { Nc = 4, Mode = mode, FileValues = new double[4] }.Build();
        var ex = Bad(b);
        Assert.Equal(MrcErrorReason.UnsupportedMode, ex.Reason);
        Assert.Equal("MrcUnsupportedMode", ex.ErrorId);
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, -5, 1)]
    [InlineData(1, 1, 0)]
    [InlineData(65536, 65536, 1)]       // 2^32 voxels: product overflows int
    [InlineData(2048, 1024, 1024)]      // 2^31 voxels
    public void BadDimensionsAreInvalidDimensions(int nc, int nr, int ns)
    {
        var b = new MrcFileBuilder { Nc = nc, Nr = nr, Ns = ns, FileValues = new double[4] }.Build();
        Assert.Equal(MrcErrorReason.InvalidDimensions, Bad(b).Reason);
    }

    [Fact]
    public void HugeClaimInASmallFileFailsWithoutAllocating()
    {
        // 1290 x 1290 x 1290 ≈ 2.1e9 > int.MaxValue → invalid; 1200³ = 1.7e9 voxels fits an int but not a 2 KB file.
        var b = new MrcFileBuilder { Nc = 1200, Nr = 1200, Ns = 1200, FileValues = new double[256] }.Build();
        Assert.True(b.Length < 2100);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Bad(b);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(MrcErrorReason.Truncated, ex.Reason);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void ExtendedHeaderPastTheEnd()
    {
        var b = new MrcFileBuilder { Nc = 4, FileValues = new double[4] }.Build();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(23 * 4), 1 << 30);
        Assert.Equal(MrcErrorReason.ExtendedHeaderPastEnd, Bad(b).Reason);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(23 * 4), -4);
        Assert.Equal(MrcErrorReason.InvalidHeader, Bad(b).Reason);
    }

    [Fact]
    public void AxisMappingThatIsNotAPermutationIsInvalid()
    {
        var b = new MrcFileBuilder { Nc = 4, MapC = 1, MapR = 1, MapS = 3, FileValues = new double[4] }.Build();
        Assert.Equal(MrcErrorReason.InvalidHeader, Bad(b).Reason);
    }

    [Fact]
    public void PathIsInTheMessage()
    {
        string p = Path.Combine(Path.GetTempPath(), "cryoemps-bad-" + Guid.NewGuid().ToString("N") + ".mrc");
        File.WriteAllBytes(p, new byte[100]);
        try
        {
            var ex = Assert.Throws<MrcFormatException>(() => MrcReader.ReadVolume(p));
            Assert.Equal(p, ex.Path);
            Assert.Contains(p, ex.Message);
        }
        finally { File.Delete(p); }
    }

    // ---- real files from ../shared/data ------------------------------------------------------------------

    [SharedDataFact]
    public void IotaYzxReadsInZyxOrder()
    {
        var v = MrcReader.ReadVolume(SharedData.PathOf("iota_yzx.ccp4"));
        Assert.Equal((2, 1, 4), (v.SizeZ, v.SizeY, v.SizeX));
        Assert.Equal(new double[] { 60, 102, 144, 186 }, Enumerable.Range(0, 4).Select(x => v[0, 0, x]));
        Assert.Equal(new double[] { 61, 103, 145, 187 }, Enumerable.Range(0, 4).Select(x => v[1, 0, x]));
        var h = MrcReader.ReadHeader(SharedData.PathOf("iota_yzx.ccp4"));
        Assert.Equal((2, 3, 1), (h.MapC, h.MapR, h.MapS));
        // nc/nr/ns start = 20, −3, 1 on axes Y, Z, X.
        Assert.Equal((1, 20, -3), (v.StartX, v.StartY, v.StartZ));
        Assert.Equal(150.0 / 5, v.VoxelSize, 6);
    }

    [SharedDataFact]
    public void Tiny5i55WithAxisOrder213AndStarts()
    {
        string p = SharedData.PathOf("5i55_tiny.ccp4");
        var v = MrcReader.ReadVolume(p);
        var h = MrcReader.ReadHeader(p);
        Assert.Equal((2, 1, 3), (h.MapC, h.MapR, h.MapS));
        Assert.Equal((8, 6, 10), (h.Columns, h.Rows, h.Sections));
        // Columns run along Y (8), rows along X (6), sections along Z (10).
        Assert.Equal((10, 8, 6), (v.SizeZ, v.SizeY, v.SizeX));
        Assert.Equal((50, -8, 40), (h.ColumnStart, h.RowStart, h.SectionStart));
        Assert.Equal((-8, 50, 40), (v.StartX, v.StartY, v.StartZ));
        Assert.Equal(160, h.ExtendedHeaderSize);
        // Independent check from the raw bytes: file[(z*6 + x)*8 + y] = v[z, y, x].
        var bytes = File.ReadAllBytes(p);
        float Raw(int i) => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(1024 + 160 + 4 * i));
        for (int z = 0; z < 10; z++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 6; x++)
                    Assert.Equal(Raw((z * 6 + x) * 8 + y), v[z, y, x]);
        Assert.Equal(h.DMin, v.Min(), 6);
        Assert.Equal(h.DMax, v.Max(), 6);
        Assert.Equal(29.45 / 60, v.VoxelSize, 6);
    }

    [SharedDataFact]
    public void Ribosome65MatchesPublishedStatistics()
    {
        var v = MrcReader.ReadVolume(SharedData.PathOf("clean70SRibosome_vol_65p.mrc"));
        Assert.Equal(65, v.Size);
        Assert.Equal(0, v.VoxelSize);
        double mean = v.Mean();
        double std = Math.Sqrt(v.Data.Sum(d => (d - mean) * (d - mean)) / v.Length);
        // README (mrcfile 1.4.3): min −4.3995e−4, max 7.3879e−4, mean 1.62588e−6, std 6.88004e−5 (5 significant digits).
        Assert.Equal(-4.3995e-4, v.Min(), 8);
        Assert.Equal(7.3879e-4, v.Max(), 8);
        Assert.Equal(1.62588e-6, mean, 11);
        Assert.Equal(6.88004e-5, std, 10);
    }

    [SharedDataTheory]
    [InlineData("clean70SRibosome_vol_17p.mrc", 17)]
    [InlineData("clean70SRibosome_vol_11p.mrc", 11)]
    public void DownsampledRibosomesKeepTheMean(string file, int size)
    {
        var v = MrcReader.ReadVolume(SharedData.PathOf(file));
        Assert.Equal(size, v.Size);
        var h = MrcReader.ReadHeader(SharedData.PathOf(file));
        Assert.Equal(h.DMean, v.Mean(), 9);
        Assert.Equal(1.62588e-6, v.Mean(), 10); // mean preserved by the Fourier cropping (README)
    }

    [SharedDataTheory]
    [InlineData("rln_proj_64.mrcs", 64)]
    [InlineData("rln_proj_65.mrcs", 65)]
    public void RelionStacksAreFiveImagesDespiteIspg1(string file, int size)
    {
        var h = MrcReader.ReadHeader(SharedData.PathOf(file));
        Assert.Equal(1, h.SpaceGroup);
        var s = MrcReader.ReadImageStack(SharedData.PathOf(file));
        Assert.Equal((5, size, size), (s.Count, s.SizeY, s.SizeX));
        Assert.Equal(h.DMin, s.Data.Min(), 7);
        Assert.Equal(h.DMax, s.Data.Max(), 7);
        var mics = MrcReader.ReadMicrographs(SharedData.PathOf(file));
        Assert.Equal(5, mics.Length);
        Assert.Equal(s.Image(3).ToArray(), mics[3].Data);
        Assert.True(double.IsNaN(mics[0].NoiseVariance));
    }

    [SharedDataTheory]
    [InlineData("clean70SRibosome_vol_65p.mrc")]
    [InlineData("clean70SRibosome_vol_17p.mrc")]
    [InlineData("clean70SRibosome_vol_11p.mrc")]
    [InlineData("rln_proj_64.mrcs")]
    [InlineData("rln_proj_65.mrcs")]
    public void ValidatorAcceptsTheFilesMrcfileAccepts(string file)
    {
        // README: these pass mrcfile.validate; our encoding of its rules must agree.
        Assert.Empty(MrcValidator.Validate(File.ReadAllBytes(SharedData.PathOf(file))));
    }
}
