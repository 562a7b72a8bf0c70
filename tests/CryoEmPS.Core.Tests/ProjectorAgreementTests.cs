using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>The voxel (Fourier-slice NUFFT) projector and the exact Fourier–Bessel projector agree on a bandlimited volume.</summary>
public class ProjectorAgreementTests
{
    [Theory]
    [InlineData(17, 14)]
    [InlineData(16, 10)]
    public void VoxelAndFourierBesselProjectorsAgreeOnABandlimitedVolume(int size, int ellMax)
    {
        // A bandlimited volume: the Fourier–Bessel expansion of the phantom, synthesised on the voxel grid.
        var fb = FourierBesselTransform.Analyze(Phantom.Create(size), ellMax);
        var voxels = fb.ToVolume();
        var exact = new FourierBesselProjector(fb);
        using var voxel = new VoxelProjector(voxels);
        var rng = new Random(8);
        double worst = 0;
        var a = new double[size * size]; var b = new double[size * size];
        for (int t = 0; t < 6; t++)
        {
            var r = UniformRotation.Draw(rng);
            exact.Project(r, a);
            voxel.Project(r, b);
            double num = 0, den = 0;
            for (int i = 0; i < a.Length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += a[i] * a[i]; }
            worst = Math.Max(worst, Math.Sqrt(num / den));
        }
        // Measured 1.0e-3 at L = 17, lmax = 14: the voxel projector sees only the L³ samples.
        Assert.True(worst < 1e-2, $"relative L2 difference {worst:e3}");
    }
}
