using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>The Fourier–Bessel ceiling and the oracle-pose least-squares fit (issue 11, item 6).</summary>
public class CeilingTests
{
    private readonly ITestOutputHelper _out;
    public CeilingTests(ITestOutputHelper output) => _out = output;

    private static double RelativeDifference(double[] a, double[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += b[i] * b[i];
        }
        return Math.Sqrt(num / den);
    }

    /// <summary>A noise-free micrograph: the simulated one with its data replaced by the clean image.</summary>
    private static Micrograph Clean(Micrograph m) => new(m.SizeY, m.SizeX, m.Clean!, m.PixelSize, m.Name) { Truth = m.Truth };

    private static MicrographSimulationOptions Options(int size, int count, ParticleSpacing spacing, int seed) => new()
    {
        Size = size,
        ParticleCount = count,
        Snr = 1,
        Spacing = spacing,
        Seed = seed,
        IncludeClean = true,
    };

    [Theory]
    [InlineData(11, 6, ParticleSpacing.WellSeparated)]
    [InlineData(12, 5, ParticleSpacing.Arbitrary)]
    public void NoiseFreeOracleFitRecoversCoefficientsThatLieInTheModel(int l, int ellMax, ParticleSpacing spacing)
    {
        // A volume inside the model (the phantom's own expansion), projected by the exact Fourier–Bessel projector and placed by
        // the simulator: with the true poses the least-squares fit of the clean micrograph is that expansion, to rounding.
        // This pins the placement convention (the corner is the projection's top-left pixel, origin floor(L/2)) and the
        // rotation convention (the simulator's R is the M-step's R).
        var expansion = FourierBesselTransform.Analyze(Phantom.Create(l), ellMax);
        var simulated = MicrographSimulator.Simulate(new FourierBesselProjector(expansion), Options(16 * l, 40, spacing, 7));
        Assert.True(simulated.ParticleCount >= 20, $"only {simulated.ParticleCount} particles placed");
        var fit = OraclePoseFit.Fit(new[] { Clean(simulated) }, ellMax, out var solution);
        double error = RelativeDifference(fit.Coefficients, expansion.Coefficients);
        _out.WriteLine($"L = {l}, ℓmax {ellMax}, {simulated.ParticleCount} particles: relative coefficient error {error:e2}");
        Assert.True(error < 1e-8, $"relative coefficient error {error:g3}");
        Assert.False(solution.Regularized);
        // With the noise the fit moves, but stays close: SNR 1 and ~40 particles.
        var noisy = OraclePoseFit.Fit(new[] { simulated }, ellMax);
        Assert.True(RelativeDifference(noisy.Coefficients, expansion.Coefficients) > 1e-3);
    }

    [Fact]
    public void NoiseFreeOracleFitOfTheVoxelPhantomIsItsOwnExpansion()
    {
        // The paper protocol's simulation: the voxel phantom through the voxel projector. The oracle fit of the clean micrograph
        // at ℓmax 14 is the phantom's own ℓmax-14 expansion up to the difference between projecting and expanding (measured
        // 0.12 % relative, FSC between them above 0.9998 at every shell).
        const int l = 17;
        var phantom = Phantom.Create(l);
        using var projector = new VoxelProjector(phantom);
        var simulated = MicrographSimulator.Simulate(projector, Options(300, 60, ParticleSpacing.WellSeparated, 3));
        var fit = OraclePoseFit.Fit(new[] { Clean(simulated) }, 14);
        var own = FourierBesselTransform.Analyze(phantom, 14);
        double error = RelativeDifference(fit.Coefficients, own.Coefficients);
        var fsc = Fsc.Compute(own.ToVolume(), fit.ToVolume());
        _out.WriteLine($"{simulated.ParticleCount} particles: relative coefficient difference {error:e2}, " +
            $"min FSC {fsc.Curve.Min(s => s.Correlation):0.0000}");
        Assert.True(error < 0.01, $"relative coefficient difference {error:g3}");
        Assert.All(fsc.Curve, s => Assert.True(s.Correlation > 0.999, $"shell {s.Shell}: {s.Correlation:0.0000}"));
        Assert.False(Fsc.Compute(phantom, fit.ToVolume()).CrossesThreshold);
    }

    [Fact]
    public void OracleNormalEquationsEqualABruteForceLeastSquaresSolveWithMaskedBoxes()
    {
        // Five particles in a 30×30 micrograph, one hanging over the top-left corner and one over the right edge, random pixel
        // values: the fit equals argmin Σ_t ‖box_t − B_t x‖² over the pixels inside, solved by QR.
        const int l = 9, ellMax = 4, side = 30;
        var rng = new Random(11);
        var data = Enumerable.Range(0, side * side).Select(_ => rng.NextDouble() - 0.3).ToArray();
        var particles = new[]
        {
            new ParticleTruth(5, 6, UniformRotation.Draw(rng)),
            new ParticleTruth(-3, -2, UniformRotation.Draw(rng)),
            new ParticleTruth(10, 25, UniformRotation.Draw(rng)),
            new ParticleTruth(18, 3, UniformRotation.Draw(rng)),
            new ParticleTruth(20, 16, UniformRotation.Draw(rng)),
        };
        var micrograph = new Micrograph(side, side, data) { Truth = new MicrographTruth(particles, l, "test") };
        var model = FourierBesselModel.Get(l, ellMax);
        int n = model.ParameterCount;
        var rows = new List<double[]>();
        var rhs = new List<double>();
        var b = new double[l * l * n];
        foreach (var p in particles)
        {
            model.ProjectionMatrix(p.Rotation, b);
            for (int i = 0; i < l; i++)
            {
                for (int j = 0; j < l; j++)
                {
                    int row = p.Row + i, column = p.Column + j;
                    if (row < 0 || column < 0 || row >= side || column >= side)
                    {
                        continue;
                    }
                    rows.Add(b.AsSpan((i * l + j) * n, n).ToArray());
                    rhs.Add(micrograph[row, column]);
                }
            }
        }
        Assert.Equal(3 * 81 + 6 * 7 + 9 * 5, rows.Count);
        var a = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfRowArrays(rows);
        var want = a.QR().Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfEnumerable(rhs)).ToArray();
        var got = OraclePoseFit.Fit(new[] { micrograph }, ellMax).Coefficients;
        double error = RelativeDifference(got, want);
        _out.WriteLine($"{rows.Count} pixels, {n} unknowns: relative difference {error:e2}");
        Assert.True(error < 1e-9, $"relative difference {error:g3}");
        // Build gives C and y themselves: C = AᵀA, y = Aᵀb (to rounding, relative to the largest entry).
        var eq = OraclePoseFit.Build(new[] { micrograph }, ellMax);
        var ata = a.TransposeThisAndMultiply(a);
        var atb = a.TransposeThisAndMultiply(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfEnumerable(rhs));
        double scale = ata.Enumerate().Max(Math.Abs), worst = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(atb[i], eq.RightHandSide[i], 1e-12 * atb.AbsoluteMaximum());
            for (int j = 0; j < n; j++)
            {
                worst = Math.Max(worst, Math.Abs(ata[i, j] - eq.Matrix[i * n + j]) / scale);
            }
        }
        Assert.True(worst < 1e-12, $"C differs from AᵀA by {worst:g3} of its largest entry");
    }

    /// <summary>
    /// The oracle fit on a rotation grid: with a grid that holds every true rotation (among others) it is the oracle fit itself,
    /// bit for bit; with a coarse grid the noise-free fit of a volume inside the model is far from it, and Measure reports the
    /// grid's FSC below the true poses' one.
    /// </summary>
    [Fact]
    public void OracleFitOnARotationGridSnapsEachTruePoseToItsNearestGridRotation()
    {
        const int l = 11, ellMax = 6;
        var expansion = FourierBesselTransform.Analyze(Phantom.Create(l), ellMax);
        var simulated = Clean(MicrographSimulator.Simulate(new FourierBesselProjector(expansion),
            Options(16 * l, 40, ParticleSpacing.WellSeparated, 7)));
        var micrographs = new[] { simulated };
        var exact = OraclePoseFit.Fit(micrographs, ellMax);
        var others = RotationGrid.SuperFibonacci(50).Rotations;
        var holding = new RotationSet(others.Concat(simulated.Truth!.Particles.Select(p => p.Rotation)).Reverse().ToArray());
        var onHolding = OraclePoseFit.Fit(micrographs, ellMax, out _, grid: holding);
        Assert.Equal(exact.Coefficients, onHolding.Coefficients);
        Assert.Equal($"oracle ℓmax {ellMax} on {holding.Count} rotations", onHolding.Name);

        var coarse = RotationGrid.SuperFibonacci(20);
        var onCoarse = OraclePoseFit.Fit(micrographs, ellMax, out _, grid: coarse);
        double error = RelativeDifference(onCoarse.Coefficients, expansion.Coefficients);
        _out.WriteLine($"noise-free fit on 20 rotations: relative coefficient error {error:0.000}");
        Assert.True(error > 0.1, $"relative coefficient error {error:g3}");

        var truth = expansion.ToVolume();
        var measured = FourierBesselCeiling.Measure(truth, ellMax, micrographs, grid: coarse);
        Assert.Equal(20, measured.RotationCount);
        double gridWorst = measured.GridOracle!.Curve.Min(shell => shell.Correlation);
        double trueWorst = measured.Oracle!.Curve.Min(shell => shell.Correlation);
        _out.WriteLine($"lowest FSC over the shells: on the grid {gridWorst:0.0000}, true poses {trueWorst:0.0000}");
        Assert.True(trueWorst > 1 - 1e-9);
        Assert.True(gridWorst < 0.99, $"lowest FSC on the grid {gridWorst:0.0000}");
        Assert.Contains("on 20 rotations at", measured.ToString());
        var without = FourierBesselCeiling.Measure(truth, ellMax, micrographs);
        Assert.Null(without.GridOracle);
        Assert.True(double.IsNaN(without.GridOracleShell));
        Assert.Equal(0, without.RotationCount);
    }

    /// <summary>Nearest against a brute force over the grid with the quaternion form of the angle, 2·acos|⟨q, q′⟩|.</summary>
    [Fact]
    public void NearestIsTheGridRotationAtTheSmallestAngle()
    {
        var grid = RotationGrid.SuperFibonacci(300);
        foreach (var probe in RotationGrid.Random(37, 5).Rotations)
        {
            var nearest = OraclePoseFit.Nearest(grid, probe);
            var q = RotationGrid.ToQuaternion(probe);
            double Angle(Rotation r)
            {
                var p = RotationGrid.ToQuaternion(r);
                return 2 * Math.Acos(Math.Min(1, Math.Abs(q.W * p.W + q.X * p.X + q.Y * p.Y + q.Z * p.Z)));
            }
            double best = grid.Rotations.Min(Angle);
            Assert.Equal(best, Angle(nearest), 9);
        }
    }

    [Fact]
    public void SeveralMicrographsPoolTheirParticles()
    {
        const int l = 11, ellMax = 4;
        var expansion = FourierBesselTransform.Analyze(Phantom.Create(l), ellMax);
        var first = MicrographSimulator.Simulate(new FourierBesselProjector(expansion), Options(88, 12, ParticleSpacing.WellSeparated, 1));
        var second = MicrographSimulator.Simulate(new FourierBesselProjector(expansion), Options(88, 12, ParticleSpacing.WellSeparated, 2));
        var both = OraclePoseFit.Build(new[] { first, second }, ellMax);
        var one = OraclePoseFit.Build(new[] { first }, ellMax);
        var two = OraclePoseFit.Build(new[] { second }, ellMax);
        for (int i = 0; i < both.RightHandSide.Length; i++)
        {
            Assert.Equal(one.RightHandSide[i] + two.RightHandSide[i], both.RightHandSide[i], 1e-9);
        }
    }

    [Fact]
    public void ExpansionCeilingOfAVolumeInsideTheModelIsPerfectAndMeasureReportsBoth()
    {
        const int l = 17;
        var inside = FourierBesselTransform.Analyze(Phantom.Create(l), 10).ToVolume();
        var fsc = FourierBesselCeiling.Expansion(inside, 10);
        Assert.All(fsc.Curve, s => Assert.True(s.Correlation > 1 - 1e-9, $"shell {s.Shell}: {s.Correlation}"));
        Assert.False(fsc.CrossesThreshold);
        // At ℓmax 6 the same volume loses detail, but not all of it.
        var lower = FourierBesselCeiling.Expansion(inside, 6);
        Assert.True(lower.Curve[^1].Correlation < 0.999);

        var phantom = Phantom.Create(l, voxelSize: 3);
        using var projector = new VoxelProjector(phantom);
        var simulated = MicrographSimulator.Simulate(projector, new MicrographSimulationOptions
        {
            Size = 255,
            Density = 0.4,
            Snr = 1,
            Seed = 5,
        });
        var measured = FourierBesselCeiling.Measure(phantom, 6, new[] { simulated });
        _out.WriteLine(measured.ToString());
        Assert.Equal(6, measured.EllMax);
        Assert.Equal(279, measured.ParameterCount);
        Assert.Equal(simulated.ParticleCount, measured.ParticleCount);
        Assert.Equal(FourierBesselCeiling.Expansion(phantom, 6).CrossingShell, measured.ExpansionShell);
        Assert.NotNull(measured.OracleVolume);
        Assert.Equal(3, measured.OracleVolume!.VoxelSize);
        Assert.InRange(measured.OracleShell, 1, measured.ExpansionShell + 1e-9);
        Assert.Contains("oracle-pose fit", measured.ToString());
        var alone = FourierBesselCeiling.Measure(phantom, 6);
        Assert.Null(alone.Oracle);
        Assert.True(double.IsNaN(alone.OracleShell));
    }

    [Fact]
    public void OracleFitRefusesMicrographsWithoutTruthOrOfAnotherSize()
    {
        var imported = new Micrograph(40, 40);
        var e = Assert.Throws<ArgumentException>(() => OraclePoseFit.Fit(new[] { imported }, 4));
        Assert.Contains("no truth", e.Message);
        Assert.Throws<ArgumentException>(() => OraclePoseFit.Fit(Array.Empty<Micrograph>(), 4));
        var empty = new Micrograph(40, 40) { Truth = new MicrographTruth(Array.Empty<ParticleTruth>(), 9, "x") };
        Assert.Contains("no particles", Assert.Throws<ArgumentException>(() => OraclePoseFit.Fit(new[] { empty }, 4)).Message);
        var nine = new Micrograph(40, 40) { Truth = new MicrographTruth(new[] { new ParticleTruth(0, 0, Rotation.Identity) }, 9, "x") };
        var eleven = new Micrograph(40, 40) { Truth = new MicrographTruth(new[] { new ParticleTruth(0, 0, Rotation.Identity) }, 11, "x") };
        Assert.Contains("different sizes", Assert.Throws<ArgumentException>(() => OraclePoseFit.Fit(new[] { nine, eleven }, 4)).Message);
        var size = Assert.Throws<ArgumentException>(() => FourierBesselCeiling.Measure(Phantom.Create(11), 4, new[] { nine }));
        Assert.Contains("9 px", size.Message);
    }
}
