using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

public class AtomicModelTests
{
    private static string AtomLine(string rec, int serial, string name, string res, double x, double y, double z, string element, double occ = 1.0)
        => $"{rec,-6}{serial,5} {name,-4} {res,3} A{1,4}    {x,8:0.000}{y,8:0.000}{z,8:0.000}{occ,6:0.00}{20.0,6:0.00}          {element,2}";

    private static AtomicModel Parse(string text, bool excludeWater = false) => AtomicModel.ParsePdb(new StringReader(text), excludeWater);

    [Fact]
    public void ParsesColumnsAndFindsElements()
    {
        string pdb = string.Join('\n',
            "HEADER    TEST",
            AtomLine("ATOM", 1, " CA ", "ALA", 1.5, -2.25, 3.125, "C"),
            AtomLine("HETATM", 2, "FE  ", "HEM", 0, 0, 0, "FE"),
            AtomLine("ATOM", 3, " N  ", "ALA", 1, 1, 1, "").TrimEnd(), // element from the name
            AtomLine("HETATM", 4, " O  ", "HOH", 9, 9, 9, "O"),
            "END");
        var m = Parse(pdb);
        Assert.Equal(4, m.Atoms.Count);
        Assert.Equal(("C", 1.5, -2.25, 3.125), (m.Atoms[0].Element, m.Atoms[0].X, m.Atoms[0].Y, m.Atoms[0].Z));
        Assert.Equal("Fe", m.Atoms[1].Element);
        Assert.True(m.Atoms[1].IsHetero);
        Assert.Equal("N", m.Atoms[2].Element);
        Assert.Equal(6 + 26 + 7 + 8, m.TotalWeight, 12);
        var dry = Parse(pdb, excludeWater: true);
        Assert.Equal(3, dry.Atoms.Count);
        Assert.Equal(1, dry.SkippedRecords);
    }

    [Fact]
    public void NoAtomsIsAClearError()
    {
        var ex = Assert.Throws<AtomicModelException>(() => Parse("HEADER    EMPTY\nREMARK nothing here\nEND\n"));
        Assert.Equal("PdbNoAtoms", ex.ErrorId);
        var ex2 = Assert.Throws<AtomicModelException>(() => Parse(AtomLine("HETATM", 1, " O  ", "HOH", 0, 0, 0, "O"), excludeWater: true));
        Assert.Equal("PdbNoAtoms", ex2.ErrorId);
        var ex3 = Assert.Throws<AtomicModelException>(() => Parse("ATOM      1  CA  ALA A   1      xx"));
        Assert.Equal("PdbBadRecord", ex3.ErrorId);
    }

    [Theory]
    [InlineData(21, 1.0)]
    [InlineData(20, 1.0)]
    [InlineData(24, 0.5)]
    public void AtomsLandWhereExpectedAndMassIsSumOfWeights(int n, double voxel)
    {
        // O (Z=8) at x = 0 Å and C (Z=6) at x = 7 Å: centre of mass at x = 3 Å, so O sits 3 Å and C 4 Å either side
        // of the grid origin floor(n/2).
        string pdb = AtomLine("ATOM", 1, " O  ", "GLY", 0, 5, -2, "O") + "\n" + AtomLine("ATOM", 2, " C  ", "GLY", 7, 5, -2, "C");
        var m = Parse(pdb);
        var v = m.ToVolume(n, voxel, resolution: 2 * voxel * 2, out var warnings);
        Assert.Empty(warnings);
        Assert.Equal(voxel, v.VoxelSize);
        int c = n / 2;
        int arg = Array.IndexOf(v.Data, v.Max());
        Assert.Equal((c, c, c - (int)Math.Round(3 / voxel)), (arg / (n * n), arg / n % n, arg % n));
        int cIdx = c + (int)Math.Round(4 / voxel);
        Assert.True(v[c, c, cIdx] > v[c, c, cIdx - 1] && v[c, c, cIdx] > v[c, c, cIdx + 1], "the carbon should be a local maximum at +4 Å");
        // The Gaussians are normalised to mass Z: Σ voxels = 8 + 6, to 1e−4 relative (sampling of a σ ≥ 0.9-voxel
        // Gaussian and its truncation at ±4.5σ each leave ~1e−5).
        Assert.Equal(14.0, v.Data.Sum(), 14e-4);
        // Ratio of peak heights = ratio of Z (far-apart atoms of the same width).
        Assert.Equal(8.0 / 6.0, v.Max() / v[c, c, cIdx], 2);
    }

    [Fact]
    public void ModelBiggerThanTheBoxWarns()
    {
        string pdb = AtomLine("ATOM", 1, " C  ", "GLY", -20, 0, 0, "C") + "\n" + AtomLine("ATOM", 2, " C  ", "GLY", 20, 0, 0, "C");
        Parse(pdb).ToVolume(17, 1.0, 3.0, out var warnings);
        Assert.Single(warnings);
        Assert.Contains("outside", warnings[0]);
    }

    [SharedDataTheory]
    [InlineData("4oz7.pdb", 181)]
    [InlineData("5cvz_final.pdb", 1061)]
    public void ReadsRealModels(string file, int records)
    {
        var all = AtomicModel.Load(SharedData.PathOf(file));
        Assert.Equal(records, all.Atoms.Count + all.SkippedRecords);
        Assert.All(all.Atoms, a => Assert.True(AtomicModel.AtomicNumber(a.Element) > 0));
        var dry = AtomicModel.Load(SharedData.PathOf(file), excludeWater: true);
        Assert.DoesNotContain(dry.Atoms, a => a.ResidueName == "HOH");
        // A box large enough for the model: total density = Σ occupancy·Z.
        var v = dry.ToVolume(96, 1.0, 3.0, out var warnings);
        Assert.Empty(warnings);
        Assert.Equal(dry.TotalWeight, v.Data.Sum(), dry.TotalWeight * 1e-4);
        Assert.True(v.Min() >= 0);
        // A small box must warn.
        dry.ToVolume(17, 1.0, 3.0, out var w2);
        Assert.NotEmpty(w2);
    }

    [Fact]
    public void KeepModelFrameLeavesAnAtomAtItsOwnCoordinates()
    {
        // One carbon at (31.3, −12.2, 7.9) Å on a 2 Å grid: in the model's frame its density peaks at the voxel whose
        // coordinate (Start + i) × 2 Å is nearest, and Start places the box centre at the rounded centre of mass.
        var model = new AtomicModel(new[] { new Atom("C", 31.3, -12.2, 7.9, 1, 0, "CA", "ALA", false) });
        var v = model.ToVolume(15, 2.0, 6.0, keepModelFrame: true, out var warnings);
        Assert.Empty(warnings);
        Assert.Equal((16 - 7, -6 - 7, 4 - 7), (v.StartX, v.StartY, v.StartZ));
        int best = Array.IndexOf(v.Data, v.Data.Max());
        int x = best % 15;
        int y = best / 15 % 15;
        int z = best / 225;
        Assert.Equal(32.0, (v.StartX + x) * 2.0);
        Assert.Equal(-12.0, (v.StartY + y) * 2.0);
        Assert.Equal(8.0, (v.StartZ + z) * 2.0);
        var centred = model.ToVolume(15, 2.0, 6.0, out _);
        Assert.Equal((0, 0, 0), (centred.StartX, centred.StartY, centred.StartZ));
    }
}
