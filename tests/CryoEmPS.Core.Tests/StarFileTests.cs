using CryoEmPS.Core.IO;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Core.Tests;

public class StarFileTests
{
    [SharedDataTheory]
    [InlineData("rln_proj_64.star")]
    [InlineData("rln_proj_65.star")]
    public void ReadsRelionProjectionStarFiles(string file)
    {
        var blocks = StarFile.Read(SharedData.PathOf(file));
        var b = Assert.Single(blocks);
        Assert.Equal("particles", b.Name);
        Assert.True(b.IsLoop);
        Assert.Equal(7, b.Columns.Length);
        Assert.Equal(5, b.Rows.Length);
        var rot = b.ColumnAsDouble("rlnAngleRot");
        var tilt = b.ColumnAsDouble("_rlnAngleTilt");
        Assert.All(tilt, t => Assert.InRange(t, 0, 180));
        if (file == "rln_proj_65.star")
        {
            Assert.Equal(355.858841, rot[0]);
            Assert.Equal(72.200518, tilt[0]);
            Assert.Equal(240.688133, b.ColumnAsDouble("rlnAnglePsi")[0]);
            Assert.Equal("000005@rln_proj_65.mrcs", b.Column("rlnImageName")[4]);
        }
    }

    [Fact]
    public void ParsesKeyValueBlocksCommentsQuotesAndSeveralBlocks()
    {
        const string text = """
            # a comment
            data_general
            _rlnImageSize   64
            _rlnComment 'two words'

            data_optics
            loop_
            _rlnOpticsGroup #1
            _rlnOpticsGroupName #2
            1 opticsGroup1
            2 "group two"
            """;
        var blocks = StarFile.Read(new StringReader(text));
        Assert.Equal(2, blocks.Count);
        Assert.False(blocks[0].IsLoop);
        Assert.Equal("64", blocks[0].Column("rlnImageSize")[0]);
        Assert.Equal("two words", blocks[0].Column("rlnComment")[0]);
        Assert.Equal(new[] { "opticsGroup1", "group two" }, blocks[1].Column("rlnOpticsGroupName"));
    }

    [Fact]
    public void RaggedLoopRowIsAFormatError()
    {
        const string text = "data_x\nloop_\n_a #1\n_b #2\n1 2\n3\n";
        var ex = Assert.Throws<StarFormatException>(() => StarFile.Read(new StringReader(text)));
        Assert.Contains("Line 6", ex.Message);
    }

    private static Micrograph Simulated()
    {
        var rots = new[] { Rotation.FromEulerZyz(10, 20, 30), Rotation.FromEulerZyz(-100, 135, 170), Rotation.Identity };
        var parts = new[] { new ParticleTruth(0, 0, rots[0]), new ParticleTruth(30, 3, rots[1]), new ParticleTruth(5, 40, rots[2]) };
        return new Micrograph(64, 64, name: "mic1") { Truth = new MicrographTruth(parts, 17, "vol") };
    }

    [Fact]
    public void ParticleCoordinatesAreCentresAndAnglesRoundTrip()
    {
        var m = Simulated();
        var w = new StringWriter();
        StarFile.WriteParticleCoordinates(w, new[] { (m, "mic1.mrc") });
        var b = Assert.Single(StarFile.Read(new StringReader(w.ToString())));
        Assert.Equal("particles", b.Name);
        // L = 17: centre = corner + floor(17/2) = corner + 8, 0-based; X is the column, Y the row.
        Assert.Equal(new double[] { 8, 11, 48 }, b.ColumnAsDouble("rlnCoordinateX"));
        Assert.Equal(new double[] { 8, 38, 13 }, b.ColumnAsDouble("rlnCoordinateY"));
        Assert.All(b.Column("rlnMicrographName"), n => Assert.Equal("mic1.mrc", n));
        var rot = b.ColumnAsDouble("rlnAngleRot"); var tilt = b.ColumnAsDouble("rlnAngleTilt"); var psi = b.ColumnAsDouble("rlnAnglePsi");
        for (int i = 0; i < 3; i++)
        {
            var r = Rotation.FromEulerZyz(rot[i], tilt[i], psi[i]);
            var t = m.Truth!.Particles[i].Rotation;
            for (int a = 0; a < 3; a++) for (int c = 0; c < 3; c++) Assert.Equal(t[a, c], r[a, c], 12);
        }
        Assert.Equal(10, rot[0], 9); Assert.Equal(20, tilt[0], 9); Assert.Equal(30, psi[0], 9);
    }

    [Fact]
    public void EvenParticleSizeCentreIsCornerPlusHalf()
    {
        var parts = new[] { new ParticleTruth(2, 5, Rotation.Identity) };
        var m = new Micrograph(40, 40) { Truth = new MicrographTruth(parts, 16, "v") };
        var w = new StringWriter();
        StarFile.WriteParticleCoordinates(w, new[] { (m, "m.mrc") });
        var b = StarFile.Read(new StringReader(w.ToString()))[0];
        Assert.Equal(13, b.ColumnAsDouble("rlnCoordinateX")[0]);
        Assert.Equal(10, b.ColumnAsDouble("rlnCoordinateY")[0]);
    }

    [Fact]
    public void MicrographWithoutTruthIsRefused()
    {
        var m = new Micrograph(8, 8);
        Assert.Throws<ArgumentException>(() => StarFile.WriteParticleCoordinates(new StringWriter(), new[] { (m, "x") }));
    }
}
