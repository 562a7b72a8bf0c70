using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The simulator, the patch cutter and the EM's E-step agree on every convention: a noise-free micrograph made
/// by the exact Fourier–Bessel projector, with rotations drawn from the EM's own set, has zero residual at every
/// patch's true (shift, rotation), found from the simulator's truth alone.
/// </summary>
public class PipelineConsistencyTests
{
    [Theory]
    [InlineData(7, 4)]
    [InlineData(8, 4)]
    public void NoiseFreeMicrographHasZeroResidualAtTheTrueShiftAndRotation(int l, int ellMax)
    {
        var fb = FourierBesselTransform.Analyze(Phantom.Create(l), ellMax);
        var rotations = RotationGrid.SuperFibonacci(12);
        var options = new MicrographSimulationOptions
        {
            Size = 10 * l, ParticleCount = 12, Snr = 1, Spacing = ParticleSpacing.WellSeparated,
            Rotations = rotations, Seed = 3, IncludeClean = true,
        };
        var mic = MicrographSimulator.Simulate(new FourierBesselProjector(fb), options);
        Assert.True(mic.ParticleCount >= 6);
        var clean = new Micrograph(mic.SizeY, mic.SizeX, mic.Clean!) { Truth = mic.Truth };
        var patches = PatchExtractor.Extract(new[] { clean }, l);
        var model = FourierBesselModel.Get(l, ellMax);
        var all = Enumerable.Range(0, patches.Count).ToArray();
        const double sigma2 = 1.0;
        var table = EStep.LogLikelihoodTable(model, rotations.Rotations, fb.Coefficients, patches, all, sigma2);
        int nl = 2 * l - 1, k = rotations.Count;
        double logNorm = -0.5 * l * l * Math.Log(2 * Math.PI * sigma2);
        double energy = 0; foreach (var v in mic.Clean!) energy += v * v;
        energy /= Math.Max(1, mic.ParticleCount);
        int checkedPatches = 0, discriminating = 0;
        for (int q = 0; q < patches.Count; q++)
        {
            var o = patches.Origins[q];
            foreach (var p in mic.Truth!.Particles)
            {
                int dy = o.Row - p.Row, dx = o.Column - p.Column; // patch pixel i shows projection pixel i + d
                if (Math.Abs(dy) >= l || Math.Abs(dx) >= l) continue;
                Assert.Equal(PatchContent.Whole == patches.Content[q], dy == 0 && dx == 0);
                double ll = table[((long)q * k + p.RotationIndex) * nl * nl + (dy + l - 1) * nl + (dx + l - 1)];
                double residual = -2 * sigma2 * (ll - logNorm);
                Assert.True(residual < 1e-10 * energy, $"patch {q}: residual {residual:e3} at the true lag ({dy},{dx}), energy {energy:e3}");
                if ((l - Math.Abs(dy)) * (l - Math.Abs(dx)) * 2 >= l * l)
                {
                    // With most of the projection in the patch, a wrong rotation at the true shift leaves a clear
                    // residual: the check above can fail.
                    int wrong = (p.RotationIndex + 1) % k;
                    double llWrong = table[((long)q * k + wrong) * nl * nl + (dy + l - 1) * nl + (dx + l - 1)];
                    Assert.True(-2 * sigma2 * (llWrong - logNorm) > 1e-4 * energy);
                    discriminating++;
                }
                checkedPatches++;
            }
        }
        Assert.True(checkedPatches >= mic.ParticleCount * 2);
        Assert.True(discriminating >= mic.ParticleCount / 2);
    }
}
