using System.Diagnostics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// A molecule of isotropic Gaussian blobs f(r) = Σ a_i exp(−|r − μ_i|²/(2s²)), whose projections are
/// analytic: I_R(x, y) = Σ a_i √(2π) s exp(−((x − (Rμ_i)_x)² + (y − (Rμ_i)_y)²)/(2s²)) (f_R(r) = f(Rᵀr)
/// moves blob i to Rμ_i). Pixel (y, x) sits at (x − floor(L/2), y − floor(L/2)).
/// </summary>
internal sealed class GaussianBlobProjector : IProjector
{
    private readonly (double X, double Y, double Z, double A)[] _blobs;
    private readonly double _s;
    public int Calls;

    public GaussianBlobProjector(int size, double width = 1.5, double pixelSize = 2.0, (double, double, double, double)[]? blobs = null)
    {
        Size = size; _s = width; PixelSize = pixelSize;
        _blobs = blobs ?? new[] { (0.0, 0.0, 0.0, 1.0), (size / 5.0, 0.0, 1.0, 0.7), (-1.0, size / 6.0, -size / 7.0, 0.5) };
    }

    public int Size { get; }
    public double PixelSize { get; }
    public string Name => "blobs";

    public void Project(Rotation rotation, Span<double> image)
    {
        Interlocked.Increment(ref Calls);
        int c = Size / 2;
        image.Clear();
        foreach (var (bx, by, bz, a) in _blobs)
        {
            var (px, py, _) = rotation.Apply(bx, by, bz);
            double amp = a * Math.Sqrt(2 * Math.PI) * _s;
            for (int y = 0; y < Size; y++)
                for (int x = 0; x < Size; x++)
                {
                    double dx = x - c - px, dy = y - c - py;
                    image[y * Size + x] += amp * Math.Exp(-(dx * dx + dy * dy) / (2 * _s * _s));
                }
        }
    }
}

public class MicrographSimulatorTests
{
    private readonly ITestOutputHelper _out;
    public MicrographSimulatorTests(ITestOutputHelper output) => _out = output;

    private sealed class ListProgress : IProgress<SimulationReport>
    {
        public readonly List<SimulationReport> Items = new();
        public void Report(SimulationReport value) { lock (Items) Items.Add(value); }
    }

    private static MicrographSimulationOptions Opt(int n, int? t = null, double? gamma = null, double snr = 1, ParticleSpacing sp = ParticleSpacing.WellSeparated, int seed = 5, bool clean = true, int? down = null, RotationSet? rots = null)
        => new() { Size = n, ParticleCount = t, Density = gamma, Snr = snr, Spacing = sp, Seed = seed, IncludeClean = clean, DownsampleTo = down, Rotations = rots };

    [Theory]
    [InlineData(ParticleSpacing.WellSeparated, 17)]
    [InlineData(ParticleSpacing.Arbitrary, 17)]
    [InlineData(ParticleSpacing.Arbitrary, 10)]
    public void CleanImage_IsTheSumOfProjectionsAtTheTruth_AndSpacingHolds(ParticleSpacing spacing, int l)
    {
        var proj = new GaussianBlobProjector(l);
        var m = MicrographSimulator.Simulate(proj, Opt(150, t: 40, sp: spacing));
        Assert.NotNull(m.Clean);
        var want = new double[150 * 150];
        var img = new double[l * l];
        foreach (var p in m.Truth!.Particles)
        {
            proj.Project(p.Rotation, img);
            for (int y = 0; y < l; y++) for (int x = 0; x < l; x++) want[(p.Row + y) * 150 + p.Column + x] += img[y * l + x];
            Assert.InRange(p.Row, 0, 150 - l);
            Assert.InRange(p.Column, 0, 150 - l);
        }
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], m.Clean![i], 1e-12);
        int d = spacing == ParticleSpacing.WellSeparated ? 2 * l - 1 : l;
        var ps = m.Truth.Particles;
        for (int a = 0; a < ps.Length; a++)
            for (int b = a + 1; b < ps.Length; b++)
                Assert.False(Math.Abs(ps[a].Row - ps[b].Row) < d && Math.Abs(ps[a].Column - ps[b].Column) < d, $"particles {a} and {b} conflict");
        Assert.Equal(l, m.Truth.ParticleSize);
        Assert.Equal("blobs", m.Truth.VolumeName);
        Assert.Equal("Method2", m.Method);
        Assert.Equal(2.0, m.PixelSize);
    }

    [Theory]
    [InlineData(ParticleSpacing.WellSeparated)]
    [InlineData(ParticleSpacing.Arbitrary)]
    public void OverfullRequest_JamsCompletely_AndWarns(ParticleSpacing spacing)
    {
        int n = 120, l = 9;
        var rep = new ListProgress();
        var m = MicrographSimulator.Simulate(new GaussianBlobProjector(l), Opt(n, t: 100000, sp: spacing), rep);
        Assert.True(m.ParticleCount < 100000);
        Assert.Equal(100000, m.RequestedParticleCount);
        Assert.Contains(rep.Items, r => r.Kind == SimulationReportKind.Warning && r.Message.Contains($"Placed {m.ParticleCount} of"));
        Assert.Contains(rep.Items, r => r.Kind == SimulationReportKind.Warning && r.Message.Contains("at most"));
        // Jammed: brute force finds no free anchor left.
        int d = spacing == ParticleSpacing.WellSeparated ? 2 * l - 1 : l;
        var ps = m.Truth!.Particles;
        for (int r = 0; r <= n - l; r++)
            for (int c = 0; c <= n - l; c++)
                Assert.Contains(ps, p => Math.Abs(p.Row - r) < d && Math.Abs(p.Column - c) < d);
        Assert.True(m.ParticleCount <= ParticlePlacement.MaxCount(0, n - l, l, spacing));
    }

    [Fact]
    public void SameSeed_BitIdentical_DifferentSeed_Different()
    {
        var a = MicrographSimulator.Simulate(new GaussianBlobProjector(11), Opt(200, gamma: 0.3, sp: ParticleSpacing.Arbitrary, seed: 42));
        var b = MicrographSimulator.Simulate(new GaussianBlobProjector(11), Opt(200, gamma: 0.3, sp: ParticleSpacing.Arbitrary, seed: 42));
        var c = MicrographSimulator.Simulate(new GaussianBlobProjector(11), Opt(200, gamma: 0.3, sp: ParticleSpacing.Arbitrary, seed: 43));
        Assert.Equal(a.Data, b.Data);
        Assert.Equal(a.Truth!.Particles.Select(p => (p.Row, p.Column)), b.Truth!.Particles.Select(p => (p.Row, p.Column)));
        Assert.NotEqual(a.Data, c.Data);
        Assert.Equal(42, a.Seed);
        Assert.NotEqual(MicrographSimulator.DeriveSeed(42, 1), MicrographSimulator.DeriveSeed(42, 2));
        Assert.Equal(42, MicrographSimulator.DeriveSeed(42, 0));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.1)]
    [InlineData(6.2)]
    public void Snr_MeasuredMatchesRequested_AndNoiseVarianceIsRealised(double snr)
    {
        int l = 15;
        var proj = new GaussianBlobProjector(l);
        var m = MicrographSimulator.Simulate(proj, Opt(400, gamma: 0.3, snr: snr, sp: ParticleSpacing.Arbitrary));
        // σ² from eq. (4) over the projections placed, recomputed independently.
        var img = new double[l * l];
        double pow = 0;
        foreach (var p in m.Truth!.Particles) { proj.Project(p.Rotation, img); pow += img.Sum(v => v * v); }
        pow /= m.ParticleCount;
        Assert.Equal(pow / (l * l * snr), m.NoiseVariance, 1e-12 * m.NoiseVariance + 1e-300);
        double realised = 0;
        for (int i = 0; i < m.Data.Length; i++) { double e = m.Data[i] - m.Clean![i]; realised += e * e; }
        realised /= m.Data.Length;
        // 160 000 samples: relative standard error of the variance √(2/160000) = 0.35 %; allow 2 %.
        Assert.InRange(realised / m.NoiseVariance, 0.98, 1.02);
        Assert.Equal(pow / (l * l * realised), m.MeasuredSnr, 1e-9 * m.MeasuredSnr);
        Assert.InRange(m.MeasuredSnr / snr, 0.98, 1.02);
        Assert.Equal(snr, m.RequestedSnr);
        _out.WriteLine($"SNR requested {snr}, measured {m.MeasuredSnr:0.0000}");
    }

    [Fact]
    public void RotationSet_DrawsFromTheSet_AndProjectsEachPoseOnce()
    {
        var set = new RotationSet(new[] { Rotation.Identity, Rotation.FromEulerZyz(10, 20, 30), Rotation.FromEulerZyz(-40, 90, 5) });
        var proj = new GaussianBlobProjector(9);
        var m = MicrographSimulator.Simulate(proj, Opt(200, t: 60, sp: ParticleSpacing.Arbitrary, rots: set));
        Assert.All(m.Truth!.Particles, p => Assert.Equal(set[p.RotationIndex], p.Rotation));
        Assert.True(proj.Calls <= 3);
        Assert.Equal(3, m.Truth.Particles.Select(p => p.RotationIndex).Distinct().Count());
        var u = MicrographSimulator.Simulate(new GaussianBlobProjector(9), Opt(100, t: 5));
        Assert.All(u.Truth!.Particles, p => { Assert.Equal(-1, p.RotationIndex); Assert.True(p.Rotation.OrthonormalityError() < 1e-12); });
    }

    [Fact]
    public void Density_GivesPaperCount()
    {
        Assert.Equal(1392, MicrographSimulator.RequestedCount(Opt(1003, gamma: 0.4), 17));
    }

    [Fact]
    public void Method1_NoiseVarianceAsDelivered_PositionsAndPixelSize()
    {
        // L̃ = 33 → L = 11 (factor 3), N = 99 → M = 297. A single centred blob peaks at the delivered centre.
        var proj = new GaussianBlobProjector(33, width: 3.0, pixelSize: 1.5, blobs: new[] { (0.0, 0.0, 0.0, 1.0) });
        var m = MicrographSimulator.Simulate(proj, Opt(99, t: 6, snr: 0.5, down: 11, sp: ParticleSpacing.WellSeparated, seed: 3));
        Assert.Equal("Method1", m.Method);
        Assert.Equal(99, m.Size);
        Assert.Equal(4.5, m.PixelSize, 1e-12);
        Assert.Equal(11, m.Truth!.ParticleSize);
        foreach (var p in m.Truth.Particles)
        {
            int best = -1; double bv = double.NegativeInfinity;
            for (int y = 0; y < 11; y++) for (int x = 0; x < 11; x++)
            {
                double v = m.Clean![(p.Row + y) * 99 + p.Column + x];
                if (v > bv) { bv = v; best = y * 11 + x; }
            }
            Assert.Equal(5 * 11 + 5, best);
        }
        // Pure noise as delivered: (Data − Clean) over many micrographs' worth of pixels.
        var big = MicrographSimulator.Simulate(proj, Opt(303, t: 4, snr: 0.5, down: 11, seed: 9));
        double v2 = 0;
        for (int i = 0; i < big.Data.Length; i++) { double e = big.Data[i] - big.Clean![i]; v2 += e * e; }
        v2 /= big.Data.Length;
        double full = big.NoiseVariance / Math.Pow(303.0 / 909, 2);
        _out.WriteLine($"Method 1: σ² full {full:g5}, delivered analytic {big.NoiseVariance:g5}, measured {v2:g5}");
        // 303² samples: relative standard error 0.47 %; allow 3 %.
        Assert.InRange(v2 / big.NoiseVariance, 0.97, 1.03);
    }

    [Theory]
    [InlineData(double.NaN, "InvalidSnr")]
    [InlineData(0.0, "InvalidSnr")]
    [InlineData(-1.0, "InvalidSnr")]
    public void BadSnr_Throws(double snr, string id)
    {
        var ex = Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(new GaussianBlobProjector(9), Opt(50, t: 1, snr: snr)));
        Assert.Equal(id, ex.ErrorId);
    }

    [Fact]
    public void BadArguments_HaveStableIds()
    {
        var p = new GaussianBlobProjector(9);
        Assert.Equal("MicrographTooSmall", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(p, Opt(8, t: 1))).ErrorId);
        Assert.Equal("CountAndDensity", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(p, Opt(50, t: 1, gamma: 0.1))).ErrorId);
        Assert.Equal("InvalidDensity", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(p, Opt(50, gamma: 0))).ErrorId);
        Assert.Equal("DownsampleTooLarge", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(p, Opt(50, t: 1, down: 10))).ErrorId);
        // 65536² pixels overflow one array: a clear error, not an OverflowException (Method 2 and Method 1's M = ceil(N·L̃/L)).
        Assert.Equal("MicrographTooLarge", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Validate(p, Opt(65536, t: 1))).ErrorId);
        Assert.Equal("MicrographTooLarge", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Validate(p, Opt(20000, t: 1, down: 3))).ErrorId);
        MicrographSimulator.Validate(p, Opt(46340, t: 1)); // 46340² < 2³¹ − 57 still fits
        var zero = new GaussianBlobProjector(9, blobs: new[] { (0.0, 0.0, 0.0, 0.0) });
        Assert.Equal("ZeroSignal", Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.Simulate(zero, Opt(50, t: 1))).ErrorId);
    }

    [Fact]
    public void PaperSetting_PlacementCountsAndSpeed()
    {
        // N = 1003, L = 17, γ = 0.4 (T = 1392 asked). Reported, not asserted beyond the bounds.
        foreach (var sp in new[] { ParticleSpacing.WellSeparated, ParticleSpacing.Arbitrary })
        {
            var sw = Stopwatch.StartNew();
            var m = MicrographSimulator.Simulate(new GaussianBlobProjector(17), Opt(1003, gamma: 0.4, sp: sp, seed: 1, clean: false));
            sw.Stop();
            _out.WriteLine($"{sp}: placed {m.ParticleCount} of {m.RequestedParticleCount} in {sw.ElapsedMilliseconds} ms, SNR measured {m.MeasuredSnr:0.0000}");
            Assert.Equal(1392, m.RequestedParticleCount);
            Assert.True(m.ParticleCount <= ParticlePlacement.MaxCount(0, 1003 - 17, 17, sp));
            if (sp == ParticleSpacing.Arbitrary) Assert.Equal(1392, m.ParticleCount);
        }
    }
}
