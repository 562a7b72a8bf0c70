using System.Buffers.Binary;
using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class MrcWriterTests
{
    private static double[] Float32Data(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (double)(float)(r.NextDouble() * 2 - 0.7)).ToArray();
    }

    private static byte[] Bytes(Action<Stream> write) { var ms = new MemoryStream(); write(ms); return ms.ToArray(); }

    [Theory]
    [InlineData(5, 6, 7)]
    [InlineData(8, 8, 8)]
    [InlineData(1, 3, 2)]
    public void VolumeRoundTripIsBitExactAndValid(int nz, int ny, int nx)
    {
        var v = new Volume(nz, ny, nx, Float32Data(nz * ny * nx, nz * 100 + nx), voxelSize: 1.1, name: "x") { StartX = -3, StartY = 4, StartZ = 5 };
        var b = Bytes(s => MrcWriter.WriteVolume(s, v));
        Assert.Empty(MrcValidator.Validate(b));
        Assert.Equal(1024 + 4L * v.Length, b.Length);
        var m = MrcReader.Read(new MemoryStream(b));
        Assert.Equal(v.Data, m.Data);   // bit-exact: every value is a float32
        Assert.Equal((nz, ny, nx), (m.SizeZ, m.SizeY, m.SizeX));
        Assert.Equal(1.1, m.Header.VoxelSize);
        Assert.Equal((-3, 4, 5), (m.Header.StartX, m.Header.StartY, m.Header.StartZ));
        Assert.Equal(1, m.Header.SpaceGroup);
    }

    [Fact]
    public void HeaderFieldsFollowMrc2014()
    {
        var v = new Volume(3, 4, 5, Float32Data(60, 1), voxelSize: 2.5);
        var b = Bytes(s => MrcWriter.WriteVolume(s, v));
        int I(int w) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * w));
        float F(int w) => BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(4 * w));
        Assert.Equal((5, 4, 3, 2), (I(0), I(1), I(2), I(3)));
        Assert.Equal((5, 4, 3), (I(7), I(8), I(9)));
        Assert.Equal((12.5f, 10f, 7.5f), (F(10), F(11), F(12)));
        Assert.Equal((90f, 90f, 90f), (F(13), F(14), F(15)));
        Assert.Equal((1, 2, 3), (I(16), I(17), I(18)));
        Assert.Equal(0, I(23));
        Assert.Equal(20140, I(27));
        Assert.Equal("MAP ", Encoding.ASCII.GetString(b, 208, 4));
        Assert.Equal(new byte[] { 0x44, 0x44, 0, 0 }, b[212..216]);
        Assert.Equal(1, I(55));
        Assert.StartsWith("CryoEmPS 0.", Encoding.ASCII.GetString(b, 224, 80));
        // Statistics against an independent two-pass computation on the float32 values.
        var d = v.Data;
        double mean = d.Average(), sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / d.Length);
        Assert.Equal((float)d.Min(), F(19));
        Assert.Equal((float)d.Max(), F(20));
        Assert.Equal((float)mean, F(21), 6);
        Assert.Equal((float)sd, F(54), 6);
    }

    [Fact]
    public void StatisticsOfAKnownArray()
    {
        // 1,2,3,4: mean 2.5, population sd sqrt(1.25).
        var st = MrcWriter.ComputeStatistics(new double[] { 1, 2, 3, 4 });
        Assert.Equal(new MrcStatistics(1, 4, 2.5, Math.Sqrt(1.25)), st);
    }

    [Fact]
    public void ImageStackUsesIspg0AndRoundTrips()
    {
        var s = new ImageStack(4, 6, 5, Float32Data(120, 3), pixelSize: 3.54);
        var b = Bytes(st => MrcWriter.WriteImageStack(st, s));
        Assert.Empty(MrcValidator.Validate(b));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * 22)));
        var m = MrcReader.Read(new MemoryStream(b));
        Assert.Equal(s.Data, m.Data);
        Assert.Equal(3.54, m.Header.VoxelSize);
    }

    [Fact]
    public void MicrographRoundTripKeepsNoiseVarianceSeedAndPixelSize()
    {
        var mg = new Micrograph(7, 9, Float32Data(63, 4), pixelSize: 1.34, name: "sim") { NoiseVariance = 0.123456789012345678, Seed = 424242 };
        string p = Path.Combine(Path.GetTempPath(), "cryoemps-mic-" + Guid.NewGuid().ToString("N") + ".mrc");
        try
        {
            MrcWriter.WriteMicrographs(p, new[] { mg }, overwrite: false);
            Assert.Empty(MrcValidator.Validate(File.ReadAllBytes(p)));
            var back = Assert.Single(MrcReader.ReadMicrographs(p));
            Assert.Equal(mg.Data, back.Data);
            Assert.Equal(mg.NoiseVariance, back.NoiseVariance); // bit-exact ("R" format)
            Assert.Equal(424242, back.Seed);
            Assert.Equal(1.34, back.PixelSize);
            Assert.Equal("sim", back.Name);
            Assert.Equal((7, 9), (back.SizeY, back.SizeX));
        }
        finally { File.Delete(p); }
    }

    [Fact]
    public void MicrographStackKeepsEachSectionsMetadata()
    {
        var a = new Micrograph(4, 4, Float32Data(16, 5)) { NoiseVariance = 2.5, Seed = 1 };
        var c = new Micrograph(4, 4, Float32Data(16, 6)) { NoiseVariance = double.NaN, Seed = null };
        var b = Bytes(s => MrcWriter.WriteMicrographs(s, new[] { a, c }));
        Assert.Empty(MrcValidator.Validate(b));
        string p = Path.Combine(Path.GetTempPath(), "cryoemps-mics-" + Guid.NewGuid().ToString("N") + ".mrcs");
        File.WriteAllBytes(p, b);
        try
        {
            var back = MrcReader.ReadMicrographs(p);
            Assert.Equal(2, back.Length);
            Assert.Equal(2.5, back[0].NoiseVariance);
            Assert.Equal(1, back[0].Seed);
            Assert.True(double.IsNaN(back[1].NoiseVariance));
            Assert.Null(back[1].Seed);
            Assert.Equal(c.Data, back[1].Data);
        }
        finally { File.Delete(p); }
    }

    [Fact]
    public void MicrographsOfDifferentSizesAreRefused()
        => Assert.Throws<ArgumentException>(() => Bytes(s => MrcWriter.WriteMicrographs(s, new[] { new Micrograph(4, 4), new Micrograph(4, 5) })));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e300)]
    public void NonFiniteValuesAreRefusedBeforeAnyByteIsWritten(double bad)
    {
        var v = new Volume(3);
        v[1, 2, 0] = bad;
        var ms = new MemoryStream();
        var ex = Assert.Throws<ArgumentException>(() => MrcWriter.WriteVolume(ms, v));
        Assert.Contains("z=1, y=2, x=0", ex.Message);
        Assert.Equal(0, ms.Length);
    }

    [Fact]
    public void FailedWriteLeavesAnExistingFileUntouched()
    {
        string p = Path.Combine(Path.GetTempPath(), "cryoemps-keep-" + Guid.NewGuid().ToString("N") + ".mrc");
        var good = new Volume(4, Float32Data(64, 9));
        MrcWriter.WriteVolume(p, good, overwrite: false);
        var before = File.ReadAllBytes(p);
        var bad = new Volume(4); bad[3, 3, 3] = double.NaN;
        try
        {
            Assert.Throws<ArgumentException>(() => MrcWriter.WriteVolume(p, bad, overwrite: true));
            Assert.Equal(before, File.ReadAllBytes(p));
            Assert.Throws<FileAlreadyExistsException>(() => MrcWriter.WriteVolume(p, good, overwrite: false));
            Assert.Equal(before, File.ReadAllBytes(p));
            // No temporary file is left behind.
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(p)!, "." + Path.GetFileName(p) + "*.tmp"));
        }
        finally { File.Delete(p); }
    }

    [SharedDataFact]
    public void RewritingTheRibosomeIsBitExact()
    {
        var v = MrcReader.ReadVolume(SharedData.PathOf("clean70SRibosome_vol_65p.mrc"));
        var b = Bytes(s => MrcWriter.WriteVolume(s, v));
        Assert.Empty(MrcValidator.Validate(b));
        var original = File.ReadAllBytes(SharedData.PathOf("clean70SRibosome_vol_65p.mrc"));
        Assert.Equal(original.AsSpan(1024).ToArray(), b.AsSpan(1024).ToArray()); // identical data block
        // Statistics agree with mrcfile's (README: std 6.88004e−5) to float32 precision.
        Assert.Equal(6.88004e-5, BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(216)), 9);
    }

    [Fact]
    public void ValidatorCatchesWrongStatistics()
    {
        // The validator itself must be able to fail.
        var b = Bytes(s => MrcWriter.WriteVolume(s, new Volume(3, Float32Data(27, 2))));
        Assert.Empty(MrcValidator.Validate(b));
        var wrongRms = (byte[])b.Clone(); BinaryPrimitives.WriteSingleLittleEndian(wrongRms.AsSpan(216), 5f);
        Assert.Contains(MrcValidator.Validate(wrongRms), e => e.StartsWith("rms"));
        var noStamp = (byte[])b.Clone(); noStamp[208] = (byte)'X';
        Assert.NotEmpty(MrcValidator.Validate(noStamp));
        var shortFile = b[..^4];
        Assert.NotEmpty(MrcValidator.Validate(shortFile));
    }
}

public class MrcVoxelSizeTests
{
    [Theory]
    [InlineData(1.1)]
    [InlineData(3.54)]
    [InlineData(0.885)]
    [InlineData(1.34)]
    [InlineData(2.619996)]
    [InlineData(0.5)]
    public void PixelSizeRoundTripsThroughTheFloat32Cell(double voxel)
    {
        foreach (int n in new[] { 1, 11, 17, 64, 65, 4096 })
        {
            float cell = (float)(voxel * n);
            Assert.Equal(voxel, MrcHeader.VoxelSizeFromCell(cell, n));
        }
        Assert.Equal(0, MrcHeader.VoxelSizeFromCell(0, 5));
        Assert.Equal(0, MrcHeader.VoxelSizeFromCell(5, 0));
    }
}
