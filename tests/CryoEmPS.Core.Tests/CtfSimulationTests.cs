using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Core.Tests;

/// <summary>The simulator's CTF and coloured noise, the defocus groups and the signal scale, against direct computations.</summary>
public class CtfSimulationTests
{
    private static readonly Ctf Optics = new(15000, 14000, 30, 300, 2.7, 0.1, 2.0);

    private static MicrographSimulationOptions Options(int seed, Ctf? ctf = null, NoiseSpectrum? spectrum = null, bool invert = false)
        => new()
        {
            Size = 120, ParticleCount = 12, Snr = 2, Seed = seed, IncludeClean = true, Ctf = ctf, NoiseSpectrum = spectrum,
            InvertContrast = invert,
        };

    /// <summary>
    /// The clean micrograph with a CTF is the CTF-free clean micrograph (same seed: same particles) filtered as a whole; σ² follows
    /// eq. (4) on the CTF-filtered projections, whose energy (by Parseval on a padded grid) is checked against the energy of one
    /// projection filtered in a large zero-padded box.
    /// </summary>
    [Fact]
    public void TheCtfActsOnTheWholeCleanMicrographAndTheSnrCountsTheFilteredSignal()
    {
        var projector = new GaussianBlobProjector(15);
        var plain = MicrographSimulator.Simulate(projector, Options(3));
        var withCtf = MicrographSimulator.Simulate(projector, Options(3, Optics));
        Assert.Equal(plain.Truth!.Particles.Select(p => (p.Row, p.Column)), withCtf.Truth!.Particles.Select(p => (p.Row, p.Column)));
        var expected = (double[])plain.Clean!.Clone();
        FourierFilter.Apply(expected, 120, 120, (fx, fy) => Optics.Evaluate(fx / 2.0, fy / 2.0));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], withCtf.Clean![i], 10);
        }

        Assert.Equal(Optics, withCtf.Ctf);
        // σ² = mean ‖F P_t‖² / (L² SNR): the filtered energy of each placed projection, here by brute force in a 120² box.
        var image = new double[15 * 15];
        double power = 0;
        foreach (var particle in withCtf.Truth.Particles)
        {
            projector.Project(particle.Rotation, image);
            var canvas = new double[120 * 120];
            for (int y = 0; y < 15; y++)
            {
                for (int x = 0; x < 15; x++)
                {
                    canvas[(y + 50) * 120 + x + 50] = image[y * 15 + x];
                }
            }

            FourierFilter.Apply(canvas, 120, 120, (fx, fy) => Optics.Evaluate(fx / 2.0, fy / 2.0));
            power += canvas.Sum(v => v * v);
        }

        power /= withCtf.Truth.Particles.Length;
        // Both are Riemann sums of ∫|CTF|²|P̂|² (frequencies 1/60 and 1/120 apart): they agree to a few 1e-4.
        Assert.Equal(power / (15 * 15 * 2.0), withCtf.NoiseVariance, 1e-3 * withCtf.NoiseVariance);
    }

    [Fact]
    public void FilteredEnergyWithAUnitTransferIsTheImageEnergy()
    {
        var image = Enumerable.Range(0, 81).Select(i => Math.Sin(0.37 * i) + 0.1 * i).ToArray();
        double energy = FourierFilter.FilteredEnergies(image, 9, 1, (_, _) => 1)[0];
        Assert.Equal(image.Sum(v => v * v), energy, 1e-10 * energy);
    }

    /// <summary>Coloured noise has the spectrum it records (estimated on a noise-only micrograph), scaled to the SNR's σ².</summary>
    [Fact]
    public void ColouredNoiseHasTheRecordedSpectrum()
    {
        var shape = NoiseSpectrum.Model("Falloff", 17);
        var options = Options(8, spectrum: shape);
        options.Size = 256;
        options.ParticleCount = 1;
        var micrograph = MicrographSimulator.Simulate(new GaussianBlobProjector(9), options);
        var noise = micrograph.Data.Zip(micrograph.Clean!, (a, b) => a - b).ToArray();
        double variance = noise.Average(v => v * v);
        Assert.Equal(micrograph.NoiseVariance, variance, 0.05 * variance);
        var recorded = micrograph.NoiseSpectrum!;
        Assert.Equal(micrograph.NoiseVariance, recorded.Variance(256, 256), 1e-9 * variance);
        var estimate = new NoiseSpectrumEstimator(64, 17).Estimate(noise, 256, 256, micrograph.PixelSize);
        double rms = Math.Sqrt(Enumerable.Range(1, 16).Average(i =>
        {
            double r = estimate.At(estimate.Frequency(i)) / recorded.At(estimate.Frequency(i)) - 1;
            return r * r;
        }));
        Assert.True(rms < 0.08, $"RMS relative error of the spectrum {rms:P1}");
        // Falloff: the power near Nyquist is about 0.3 / (0.3 + 0.7) of that at low frequency.
        Assert.InRange(recorded.At(0.5) / recorded.At(0), 0.3, 0.35);
    }

    [Fact]
    public void InvertContrastNegatesTheImage()
    {
        var projector = new GaussianBlobProjector(11);
        var plain = MicrographSimulator.Simulate(projector, Options(4, Optics));
        var inverted = MicrographSimulator.Simulate(projector, Options(4, Optics, invert: true));
        Assert.Equal(plain.Data.Select(v => -v), inverted.Data);
    }

    [Fact]
    public void DrawnDefocusLiesInTheRangeAndRepeatsWithTheSeed()
    {
        var template = new Ctf(10000, 10000, 0, 200, 2.0, 0.07, 1.5);
        var a = MicrographSimulator.DrawCtf(template, 10000, 25000, 17);
        Assert.Equal(a, MicrographSimulator.DrawCtf(template, 10000, 25000, 17));
        Assert.NotEqual(a, MicrographSimulator.DrawCtf(template, 10000, 25000, 18));
        Assert.InRange(a.DefocusMean, 10000, 25000);
        Assert.InRange(Math.Abs(a.DefocusU - a.DefocusV) / 2, 0, 200);
        Assert.Equal((200.0, 2.0, 0.07, 1.5), (a.Voltage, a.SphericalAberration, a.AmplitudeContrast, a.PixelSize));
        Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.DrawCtf(template, 25000, 10000, 1));
        Assert.Throws<SimulationArgumentException>(() => MicrographSimulator.DrawCtf(template, 0, 10000, 1));
    }

    /// <summary>
    /// Defocus groups: tolerance 0 keeps distinct CTFs apart; a tolerance joins micrographs within it (mean U, V); different
    /// optics or whitening never share a group; a signal scale alone is a margin-0 filter; none of these is the identity.
    /// </summary>
    [Fact]
    public void DefocusGroupsJoinOnlyMicrographsWithinTheTolerance()
    {
        Ctf At(double defocus, double voltage = 300) => new(defocus + 50, defocus - 50, 10, voltage, 2.7, 0.1, 3);
        var ctfs = new Ctf?[] { At(10000), At(10300), At(20000), At(10100, 200), null };
        var exact = DefocusGrouping.Filters(ctfs, Array.Empty<NoiseSpectrum?>(), 5, 3, 2, 0);
        Assert.Equal(5, exact.Distinct().Count());
        Assert.Same(IdentityFilter.Instance, exact[4]);

        var grouped = DefocusGrouping.Filters(ctfs, Array.Empty<NoiseSpectrum?>(), 5, 3, 2, 500);
        Assert.Same(grouped[0], grouped[1]);
        Assert.NotSame(grouped[0], grouped[2]);
        Assert.NotSame(grouped[0], grouped[3]);
        var joint = ((MicrographFilter)grouped[0]).Ctf!;
        Assert.Equal(10150, joint.DefocusMean, 9);
        Assert.Equal(4, new ForwardModel(9, grouped).GroupCount);

        // With a tolerance, each micrograph's own whitening spectrum and scale give way to the group's means.
        var spectra = new NoiseSpectrum?[] { new NoiseSpectrum(new[] { 2.0, 1.0 }), new NoiseSpectrum(new[] { 4.0, 3.0 }) };
        var whitened = DefocusGrouping.Filters(new[] { At(10000), At(10200) }, spectra, 2, 3, 2, 500, new[] { 0.5, 1.5 });
        Assert.Same(whitened[0], whitened[1]);
        var mean = (MicrographFilter)whitened[0];
        Assert.Equal(new[] { 3.0, 2.0 }, mean.Whitening!.Power);
        Assert.Equal(1.0, mean.Scale, 15);
        Assert.Equal(2, DefocusGrouping.Filters(new[] { At(10000), At(10200) }, spectra, 2, 3, 2, 0).Distinct().Count());

        var scaled = DefocusGrouping.Filters(new Ctf?[3], Array.Empty<NoiseSpectrum?>(), 3, 3, 4, 0, new[] { 1.0, 0.5, 0.5 });
        Assert.Same(IdentityFilter.Instance, scaled[0]);
        Assert.Same(scaled[1], scaled[2]);
        Assert.Equal(0, scaled[1].Margin(9));
        Assert.Equal(0.5, ((MicrographFilter)scaled[1]).Value(0.1, 0.2), 15);
    }

    /// <summary>Normalising divides the signal by σ and records it, and the EM's filter multiplies the CTF by it.</summary>
    [Fact]
    public void NormalisingRecordsTheSignalScaleAndTheFilterCarriesIt()
    {
        var micrograph = MicrographSimulator.Simulate(new GaussianBlobProjector(11), Options(6, Optics));
        var normalised = MicrographPreprocessing.Normalize(micrograph, 4.0);
        Assert.Equal(0.5, normalised.SignalScale, 15);
        var patches = PatchExtractor.Extract(new[] { normalised }, 11);
        Assert.Equal(new[] { 0.5 }, patches.SignalScales);
        Assert.True(patches.Filtered);
        var filter = new MicrographFilter(Optics, null, 2, 3, 0.5);
        Assert.Equal(0.5 * Optics.Evaluate(0.03, 0.01), filter.Value(0.06, 0.02), 14);
    }

    /// <summary>
    /// The filter and its adjoint: ⟨F x, y⟩ = ⟨x, Fᵀ y⟩ for random x (L×L) and y (B×B), with astigmatism, whitening, a scale and
    /// margins 0 and 3, odd and even L (1e-12 relative).
    /// </summary>
    [Theory]
    [InlineData(9, 0)]
    [InlineData(9, 3)]
    [InlineData(10, 2)]
    public void TheFilterAndItsAdjointPassTheDotProductTest(int l, int margin)
    {
        var whitening = new NoiseSpectrum(new[] { 3.0, 2.0, 1.5, 1.2, 1.0 });
        var filter = new MicrographFilter(new Ctf(14000, 11000, 35, 300, 2.7, 0.1, 3), whitening, 3, margin, 0.7);
        int box = l + 2 * margin;
        var random = new Random(l * 10 + margin);
        var x = Enumerable.Range(0, l * l).Select(_ => random.NextDouble() - 0.5).ToArray();
        var y = Enumerable.Range(0, box * box).Select(_ => random.NextDouble() - 0.5).ToArray();
        var fx = new double[box * box];
        var fty = new double[l * l];
        filter.Apply(x, l, fx);
        filter.ApplyAdjoint(y, l, fty);
        double left = fx.Zip(y, (a, b) => a * b).Sum(), right = x.Zip(fty, (a, b) => a * b).Sum();
        Assert.True(Math.Abs(left - right) <= 1e-12 * Math.Max(Math.Abs(left), fx.Sum(v => v * v)), $"⟨Fx, y⟩ = {left:R}, ⟨x, Fᵀy⟩ = {right:R}");
        Assert.True(fx.Any(v => v != 0));
    }
}
