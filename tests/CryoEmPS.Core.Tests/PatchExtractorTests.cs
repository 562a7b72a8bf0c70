using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Core.Tests;

public class PatchExtractorTests
{
    private static Micrograph Sim(int n, int l, ParticleSpacing sp, int seed, double gamma = 0.5)
        => MicrographSimulator.Simulate(new GaussianBlobProjector(l), new MicrographSimulationOptions { Size = n, Density = gamma, Spacing = sp, Seed = seed, Snr = 1 });

    /// <summary>Brute force: count the projections whose box intersects the patch rectangle; Whole when one lies inside.</summary>
    private static PatchContent Brute(MicrographTruth t, int r0, int c0, int l)
    {
        int n = 0; bool inside = false;
        foreach (var p in t.Particles)
        {
            int s = t.ParticleSize;
            bool hit = p.Row < r0 + l && r0 < p.Row + s && p.Column < c0 + l && c0 < p.Column + s;
            if (!hit) continue;
            n++;
            inside = p.Row >= r0 && p.Row + s <= r0 + l && p.Column >= c0 && p.Column + s <= c0 + l;
        }
        return n == 0 ? PatchContent.Empty : n > 1 ? PatchContent.Multiple : inside ? PatchContent.Whole : PatchContent.Partial;
    }

    [Theory]
    [InlineData(ParticleSpacing.WellSeparated, 11, 11)]
    [InlineData(ParticleSpacing.Arbitrary, 11, 11)]
    [InlineData(ParticleSpacing.Arbitrary, 11, 13)]  // patch size ≠ particle size
    [InlineData(ParticleSpacing.WellSeparated, 8, 8)]
    public void PixelsAndContent_MatchBruteForce(ParticleSpacing sp, int l, int patch)
    {
        var mgs = new[] { Sim(125, l, sp, 1), Sim(125, l, sp, 2) };
        var warnings = new List<string>();
        var set = PatchExtractor.Extract(mgs, patch, warnings.Add);
        int g = 125 / patch;
        Assert.Equal(2 * g * g, set.Count);
        Assert.Equal(125 % patch != 0, warnings.Any(w => w.Contains("cropped")));
        for (int q = 0; q < set.Count; q++)
        {
            var o = set.Origins[q];
            int local = q - o.Micrograph * g * g;
            Assert.Equal((local / g * patch, local % g * patch), (o.Row, o.Column)); // row-major
            var mg = mgs[o.Micrograph];
            var pv = set.Patch(q);
            for (int y = 0; y < patch; y++) for (int x = 0; x < patch; x++)
                Assert.Equal(mg[o.Row + y, o.Column + x], pv[y * patch + x]);
            Assert.Equal(Brute(mg.Truth!, o.Row, o.Column, patch), set.Content[q]);
        }
        Assert.True(set.ContentKnown);
        Assert.Equal(mgs[0].NoiseVariance == mgs[1].NoiseVariance ? mgs[0].NoiseVariance : double.NaN, set.NoiseVariance);
    }

    [Fact]
    public void WellSeparated_NeverMultiple_ArbitraryDenseHasMultiple()
    {
        for (int seed = 0; seed < 5; seed++)
        {
            var ws = PatchExtractor.Extract(new[] { Sim(340, 17, ParticleSpacing.WellSeparated, seed, gamma: 2) }, 17);
            Assert.Equal(0, ws.MultipleCount);
            Assert.True(ws.WholeCount + ws.PartialCount > 0);
        }
        var ar = PatchExtractor.Extract(new[] { Sim(340, 17, ParticleSpacing.Arbitrary, 1, gamma: 0.4) }, 17);
        Assert.True(ar.MultipleCount > 0);
    }

    [Fact]
    public void Multiple_Whole_Partial_Empty_OnAHandMadeTruth()
    {
        var mg = new Micrograph(20, 20);
        mg.Truth = new MicrographTruth(new[]
        {
            new ParticleTruth(0, 0, Rotation.Identity),   // whole in patch (0,0)
            new ParticleTruth(12, 3, Rotation.Identity),  // partial in (1,0) and (1,1)... and (2,*) cropped
            new ParticleTruth(13, 8, Rotation.Identity),  // with the previous one: multiple in (1,1)
        }, 5, "hand");
        var set = PatchExtractor.Extract(new[] { mg }, 5);
        var c = set.Content;
        Assert.Equal(PatchContent.Whole, c[0]);
        Assert.Equal(PatchContent.Empty, c[1]);
        Assert.Equal(PatchContent.Partial, c[2 * 4 + 0]);
        Assert.Equal(PatchContent.Multiple, c[2 * 4 + 1]);
        Assert.Equal(PatchContent.Partial, c[2 * 4 + 2]);
        Assert.Equal(PatchContent.Multiple, c[3 * 4 + 1]);
    }

    [Fact]
    public void NoiseVariance_DisagreeingOrUnknown_IsNaN_WithWarning()
    {
        var a = new Micrograph(10, 10) { NoiseVariance = 1 };
        var b = new Micrograph(10, 10) { NoiseVariance = 2 };
        var w = new List<string>();
        var s = PatchExtractor.Extract(new[] { a, b }, 5, w.Add);
        Assert.True(double.IsNaN(s.NoiseVariance));
        Assert.Contains(w, x => x.Contains("different noise variances"));
        Assert.Equal(PatchContent.Unknown, s.Content[0]);
        Assert.True(double.IsNaN(PatchExtractor.Extract(new[] { a, new Micrograph(10, 10) }, 5).NoiseVariance));
        Assert.Equal(1.0, PatchExtractor.Extract(new[] { a, new Micrograph(10, 10) { NoiseVariance = 1 } }, 5).NoiseVariance);
    }

    [Fact]
    public void PatchSizeTooLarge_Throws()
    {
        Assert.Throws<PatchSizeTooLargeException>(() => PatchExtractor.Extract(new[] { new Micrograph(10, 12) }, 11));
    }

    [Fact]
    public void PaperSize_Gives3481Patches()
    {
        var s = PatchExtractor.Extract(new[] { new Micrograph(1003, 1003) }, 17);
        Assert.Equal(3481, s.Count);
    }
}
