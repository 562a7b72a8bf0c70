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
        StarFile.WriteParticleCoordinates(w, new[] { (m, "mic1.mrc") }, 1.5);
        var b = StarFile.Read(new StringReader(w.ToString())).Single(block => block.Name == "particles");
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
        StarFile.WriteParticleCoordinates(w, new[] { (m, "m.mrc") }, 1.5);
        var b = StarFile.Read(new StringReader(w.ToString())).Single(block => block.Name == "particles");
        Assert.Equal(13, b.ColumnAsDouble("rlnCoordinateX")[0]);
        Assert.Equal(10, b.ColumnAsDouble("rlnCoordinateY")[0]);
    }

    [Fact]
    public void MicrographWithoutTruthIsRefused()
    {
        var m = new Micrograph(8, 8);
        Assert.Throws<ArgumentException>(() => StarFile.WriteParticleCoordinates(new StringWriter(), new[] { (m, "x") }, 1.5));
        Assert.Throws<ArgumentException>(() => StarFile.WriteMicrographCoordinates(new StringWriter(), m));
        Assert.Throws<ArgumentException>(() => StarFile.WriteParticleCoordinates(new StringWriter(), new[] { (Simulated(), "x") }, 0));
    }

    [Fact]
    public void ParticleStarFilePassesTheRelionFormatCheck()
    {
        var m = Simulated();
        var w = new StringWriter();
        StarFile.WriteParticleCoordinates(w, new[] { (m, "Micrographs/mic1.mrc") }, 1.5);
        var particles = RelionStarCheck.CheckParticleFile(w.ToString(), "particles.star");
        Assert.Equal(3, particles.Count);
        Assert.All(particles, p => Assert.Equal("Micrographs/mic1.mrc", p["rlnMicrographName"]));
        Assert.Equal("8.000000", particles[0]["rlnCoordinateX"]);
    }

    [Fact]
    public void PerMicrographCoordinateFilesPassTheRelionFormatCheck()
    {
        var m = Simulated();
        var w = new StringWriter();
        StarFile.WriteMicrographCoordinates(w, m);
        var rows = RelionStarCheck.CheckCoordinateFile(w.ToString(), "mic1_pick.star");
        Assert.Equal(3, rows.Count);
        Assert.Equal(new[] { "8.000000", "11.000000", "48.000000" }, rows.Select(r => r["rlnCoordinateX"]));
        var list = new StringWriter();
        StarFile.WriteCoordinateFileList(list, new[] { ("Micrographs/mic1.mrc", "mic1_pick.star") });
        var files = RelionStarCheck.CheckCoordinateFileList(list.ToString(), "coordinate_files_pick.star");
        Assert.Equal("mic1_pick.star", Assert.Single(files)["rlnMicrographCoordinates"]);
    }

    [Fact]
    public void TheFormatCheckCatchesWhatRelionRefuses()
    {
        // A RELION 3.0 file (no data_optics), a ragged row, a duplicate label and an unknown optics group all fail.
        Assert.ThrowsAny<Exception>(() => RelionStarCheck.CheckParticleFile(
            "data_particles\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n_rlnMicrographName #3\n1 2 m.mrc\n", "p.star"));
        const string optics = "data_optics\nloop_\n_rlnOpticsGroupName #1\n_rlnOpticsGroup #2\n_rlnMicrographPixelSize #3\n" +
            "_rlnImageSize #4\n_rlnImageDimensionality #5\nopticsGroup1 1 1.5 17 2\n\n";
        const string header = "data_particles\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n_rlnMicrographName #3\n_rlnOpticsGroup #4\n";
        RelionStarCheck.CheckParticleFile(optics + header + "1 2 m.mrc 1\n", "p.star");
        Assert.ThrowsAny<Exception>(() => RelionStarCheck.CheckParticleFile(optics + header + "1 2 m.mrc\n", "p.star"));
        Assert.ThrowsAny<Exception>(() => RelionStarCheck.CheckParticleFile(optics + header + "1 2 m.mrc 2\n", "p.star"));
        Assert.ThrowsAny<Exception>(() => RelionStarCheck.CheckParticleFile(
            optics + header.Replace("_rlnOpticsGroup #4", "_rlnCoordinateX #4") + "1 2 m.mrc 1\n", "p.star"));
        Assert.ThrowsAny<Exception>(() => RelionStarCheck.CheckParticleFile(optics + header + "1 2 m.mrc 1\n", "p.txt"));
    }

    [SharedDataTheory]
    [InlineData("rln_proj_64", 64)]
    [InlineData("rln_proj_65", 65)]
    public void StarFileImportsItsStackWithRotations(string stem, int size)
    {
        var warnings = new List<string>();
        var stack = StarImageStack.Read(SharedData.PathOf(stem + ".star"), null, warnings.Add);
        var direct = MrcReader.ReadImageStack(SharedData.PathOf(stem + ".mrcs"));
        Assert.Equal(5, stack.Count);
        Assert.Equal(size, stack.SizeX);
        Assert.Equal(direct.Data, stack.Data);
        Assert.NotNull(stack.Rotations);
        var block = StarFile.Read(SharedData.PathOf(stem + ".star"))[0];
        var rot = block.ColumnAsDouble("rlnAngleRot");
        var tilt = block.ColumnAsDouble("rlnAngleTilt");
        var psi = block.ColumnAsDouble("rlnAnglePsi");
        for (int i = 0; i < 5; i++)
        {
            var expected = Rotation.FromEulerZyz(rot[i], tilt[i], psi[i]);
            for (int a = 0; a < 3; a++)
            {
                for (int c = 0; c < 3; c++)
                {
                    Assert.Equal(expected[a, c], stack.Rotations![i][a, c], 12);
                }
            }
        }
        Assert.Equal(size % 2 == 1, warnings.Any(w => w.Contains("odd")));
    }

    [Fact]
    public void StarStackFollowsTheRowOrderAndReportsMissingFiles()
    {
        string folder = Directory.CreateTempSubdirectory("cryoemps-star").FullName;
        try
        {
            var images = new CryoEmPS.Core.Projection.ImageStack(3, 4, 4, Enumerable.Range(0, 48).Select(i => (double)i).ToArray(), 2.0);
            using (var f = File.Create(Path.Combine(folder, "s.mrcs")))
            {
                MrcWriter.WriteImageStack(f, images);
            }
            File.WriteAllText(Path.Combine(folder, "p.star"), "data_optics\nloop_\n_rlnOpticsGroup #1\n_rlnImagePixelSize #2\n1 1.25\n\n" +
                "data_particles\nloop_\n_rlnImageName #1\n_rlnOpticsGroup #2\n3@s.mrcs 1\n1@s.mrcs 1\n");
            var stack = StarImageStack.Read(Path.Combine(folder, "p.star"));
            Assert.Equal(2, stack.Count);
            Assert.Equal(32, stack[0, 0, 0]);
            Assert.Equal(0, stack[1, 0, 0]);
            Assert.Equal(1.25, stack.PixelSize);
            Assert.Null(stack.Rotations);
            File.WriteAllText(Path.Combine(folder, "q.star"), "data_particles\nloop_\n_rlnImageName #1\n1@missing.mrcs\n");
            Assert.Throws<FileNotFoundException>(() => StarImageStack.Read(Path.Combine(folder, "q.star")));
            File.WriteAllText(Path.Combine(folder, "r.star"), "data_particles\nloop_\n_rlnImageName #1\n9@s.mrcs\n");
            Assert.Throws<StarFormatException>(() => StarImageStack.Read(Path.Combine(folder, "r.star")));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
