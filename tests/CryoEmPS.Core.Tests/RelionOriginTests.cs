using CryoEmPS.Core.IO;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// Where is the origin of a projection image? An analytic answer that needs no interpolation: projection keeps the first
/// moments. For f_R(r) = f(Rᵀr) projected along z, Σ_pixels I·(x, y) = M₀·(o + (R c)_xy), with M₀ = Σ f, c the volume's
/// centre of mass relative to its origin and o the image origin. So o = (first moment of the image)/M₀ − (R c)_xy for
/// any image, whatever projector made it.
/// </summary>
public sealed class RelionOriginTests
{
    private readonly ITestOutputHelper _out;

    public RelionOriginTests(ITestOutputHelper output) => _out = output;

    /// <summary>The image origin implied by the first moments (x, y in pixels, 0-based).</summary>
    internal static (double X, double Y) ImpliedOrigin(ReadOnlySpan<double> image, int l, Rotation r, (double X, double Y, double Z) centre)
    {
        double m0 = 0;
        double mx = 0;
        double my = 0;
        for (int y = 0; y < l; y++)
        {
            for (int x = 0; x < l; x++)
            {
                double v = image[y * l + x];
                m0 += v;
                mx += v * x;
                my += v * y;
            }
        }
        double rx = r[0, 0] * centre.X + r[0, 1] * centre.Y + r[0, 2] * centre.Z;
        double ry = r[1, 0] * centre.X + r[1, 1] * centre.Y + r[1, 2] * centre.Z;
        return (mx / m0 - rx, my / m0 - ry);
    }

    /// <summary>Centre of mass of a cube relative to index floor(L/2) on each axis (x, y, z).</summary>
    internal static (double X, double Y, double Z) CentreOfMass(Volume v)
    {
        int l = v.Size;
        int o = l / 2;
        double m0 = 0;
        double mx = 0;
        double my = 0;
        double mz = 0;
        for (int z = 0; z < l; z++)
        {
            for (int y = 0; y < l; y++)
            {
                for (int x = 0; x < l; x++)
                {
                    double f = v[z, y, x];
                    m0 += f;
                    mx += f * (x - o);
                    my += f * (y - o);
                    mz += f * (z - o);
                }
            }
        }
        return (mx / m0, my / m0, mz / m0);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(16)]
    public void OurProjectionsHaveTheirOriginAtFloorHalfL(int l)
    {
        // An off-centre Gaussian blob: its first moments are known and the box holds all of it.
        var v = new Volume(l);
        for (int z = 0; z < l; z++)
        {
            for (int y = 0; y < l; y++)
            {
                for (int x = 0; x < l; x++)
                {
                    double dx = x - l / 2 - 1.5;
                    double dy = y - l / 2 + 1.0;
                    double dz = z - l / 2 - 0.5;
                    v[z, y, x] = Math.Exp(-(dx * dx + dy * dy + dz * dz) / (2 * 1.2 * 1.2));
                }
            }
        }
        var c = CentreOfMass(v);
        using var projector = new VoxelProjector(v);
        foreach (var r in new[] { Rotation.Identity, Rotation.FromEulerZyz(30, 50, 70), Rotation.FromEulerZyz(200, 120, 10) })
        {
            var (ox, oy) = ImpliedOrigin(projector.Project(r), l, r, c);
            Assert.Equal(l / 2, ox, 1);
            Assert.Equal(l / 2, oy, 1);
        }
    }

    /// <summary>
    /// RELION's CenterFFT (src/fftw.h) moves element i to i + s (mod L) with s = L/2 (integer division) when forward and
    /// s = −L/2 when backward. relion_project inverse-transforms the projection's spectrum, which puts the origin at
    /// index 0, then calls CenterFFT(img, false). This follows a delta at the origin through that step.
    /// </summary>
    internal static int RelionBackwardCenterFft(int index, int l)
    {
        int shift = -(l / 2);
        return ((index + shift) % l + l) % l;
    }

    [Theory]
    [InlineData(64, 32)]
    [InlineData(65, 33)]
    [InlineData(16, 8)]
    [InlineData(17, 9)]
    public void RelionProjectImageOriginIsLMinusHalfL(int l, int expected)
    {
        // Even L: L/2 = floor(L/2), our origin. Odd L: L − L/2 = ceil(L/2), one pixel past ours (and past RELION's own
        // Xmipp origin FIRST_XMIPP_INDEX = −L/2 used by extraction and by its volumes).
        Assert.Equal(expected, RelionBackwardCenterFft(0, l));
        Assert.Equal(l % 2 == 0 ? l / 2 : l / 2 + 1, expected);
    }

    [SharedDataFact]
    public void RelionProjectImagesOfOddSideSitOnePixelPastOurs()
    {
        var volume = MrcReader.ReadVolume(SharedData.PathOf("clean70SRibosome_vol_65p.mrc"));
        var stack = MrcReader.ReadImageStack(SharedData.PathOf("rln_proj_65.mrcs"));
        var block = StarFile.Read(SharedData.PathOf("rln_proj_65.star"))[0];
        var rot = block.ColumnAsDouble("rlnAngleRot");
        var tilt = block.ColumnAsDouble("rlnAngleTilt");
        var psi = block.ColumnAsDouble("rlnAnglePsi");
        int l = stack.SizeX;
        using var projector = new VoxelProjector(volume);
        for (int i = 0; i < stack.Count; i++)
        {
            var ours = projector.Project(Rotation.FromEulerZyz(rot[i], tilt[i], psi[i]));
            var theirs = stack.Image(i).ToArray();
            // The integer shift (dx, dy) that best maps our image onto theirs: theirs[y, x] ≈ ours[y − dy, x − dx].
            (int Dx, int Dy, double Ncc) best = (0, 0, double.NegativeInfinity);
            for (int dy = -2; dy <= 2; dy++)
            {
                for (int dx = -2; dx <= 2; dx++)
                {
                    double ncc = ShiftedNcc(ours, theirs, l, dx, dy);
                    if (ncc > best.Ncc)
                    {
                        best = (dx, dy, ncc);
                    }
                }
            }
            _out.WriteLine($"image {i + 1}: best shift ({best.Dx:+0;-0;0}, {best.Dy:+0;-0;0}), NCC {best.Ncc:0.00000}");
            Assert.Equal((1, 1), (best.Dx, best.Dy));
            Assert.True(best.Ncc > 0.999);
        }
    }

    private static double ShiftedNcc(double[] ours, double[] theirs, int l, int dx, int dy)
    {
        double sa = 0;
        double sb = 0;
        double saa = 0;
        double sbb = 0;
        double sab = 0;
        int n = 0;
        for (int y = Math.Max(0, dy); y < Math.Min(l, l + dy); y++)
        {
            for (int x = Math.Max(0, dx); x < Math.Min(l, l + dx); x++)
            {
                double a = ours[(y - dy) * l + x - dx];
                double b = theirs[y * l + x];
                sa += a;
                sb += b;
                saa += a * a;
                sbb += b * b;
                sab += a * b;
                n++;
            }
        }
        double cov = sab - sa * sb / n;
        return cov / Math.Sqrt((saa - sa * sa / n) * (sbb - sb * sb / n));
    }
}
