namespace CryoEmPS.Core.Tests;

/// <summary>The CTF (CONVENTIONS.md §4) against published values, RELION's ctf.h form and brute force; the micrograph filter.</summary>
public class CtfTests
{
    private static Ctf Astigmatic(double cs = 2.7, double phaseShift = 0, double bFactor = 0, double pixelSize = 1.5)
        => new(20000, 16000, 35, 300, cs, 0.1, pixelSize, phaseShift, bFactor);

    [Theory]
    [InlineData(300, 0.019687)]
    [InlineData(200, 0.025079)]
    public void WavelengthMatchesPublishedValues(double kv, double expected)
        => Assert.Equal(expected, Ctf.ElectronWavelength(kv), 1e-6);

    [Theory]
    [InlineData(2.7, 0.0)]
    [InlineData(0.0, 0.0)]
    [InlineData(2.7, 90.0)]
    [InlineData(0.01, -30.0)]
    public void ZerosMatchTheSignChangesOfEvaluate(double cs, double phaseShift)
    {
        // Brute force: scan along each azimuth for sign changes of the CTF (no envelope), refine by bisection.
        var ctf = Astigmatic(cs, phaseShift);
        const double kEnd = 0.45, step = 2e-5;
        foreach (double azimuth in new[] { 0.0, 0.4, 35 * Math.PI / 180, 1.3, 2.9 })
        {
            double Along(double k) => ctf.Evaluate(k * Math.Cos(azimuth), k * Math.Sin(azimuth));
            var scanned = new List<double>();
            for (double k = step; k < kEnd; k += step)
            {
                if (Math.Sign(Along(k - step)) != Math.Sign(Along(k)))
                {
                    double lo = k - step, hi = k;
                    for (int i = 0; i < 60; i++)
                    {
                        double mid = 0.5 * (lo + hi);
                        if (Math.Sign(Along(mid)) == Math.Sign(Along(lo)))
                        {
                            lo = mid;
                        }
                        else
                        {
                            hi = mid;
                        }
                    }
                    scanned.Add(0.5 * (lo + hi));
                }
            }
            Assert.True(scanned.Count >= 20, $"only {scanned.Count} zeros below {kEnd} 1/Å");
            var zeros = ctf.Zeros(scanned.Count + 1, azimuth);
            Assert.True(zeros.Length == scanned.Count + 1 && zeros[^1] > kEnd - step,
                $"Zeros gives {zeros.Length} zeros; the scan found {scanned.Count} below {kEnd}");
            for (int i = 0; i < scanned.Count; i++)
            {
                Assert.True(Math.Abs(zeros[i] - scanned[i]) < 1e-9, $"zero {i} at azimuth {azimuth}: {zeros[i]} vs scan {scanned[i]}");
            }
        }
    }

    [Theory]
    [InlineData(2.7, 0.0, 0.0)]
    [InlineData(2.7, 60.0, 80.0)]
    [InlineData(0.0, -20.0, 0.0)]
    public void EvaluateEqualsRelionCtfH(double cs, double phaseShift, double bFactor)
    {
        var ctf = Astigmatic(cs, phaseShift, bFactor, pixelSize: 2);
        // RELION's ctf.h, written out independently: defocus negative for underfocus inside, CTF = −sin(argument).
        double lambda = 12.2643247 / Math.Sqrt(300e3 * (1 + 0.978466e-6 * 300e3));
        double k1 = Math.PI * lambda, k2 = Math.PI / 2 * (cs * 1e7) * lambda * lambda * lambda;
        double q0 = 0.1, k3 = Math.Atan(q0 / Math.Sqrt(1 - q0 * q0)), k5 = phaseShift * Math.PI / 180;
        double average = -(20000 + 16000) / 2.0, deviation = -(20000 - 16000) / 2.0, azimuth = 35 * Math.PI / 180;
        const int n = 64;
        double worst = 0;
        for (int iy = 0; iy < n; iy++)
        {
            for (int ix = 0; ix < n; ix++)
            {
                double x = (ix - n / 2) / (n * 2.0), y = (iy - n / 2) / (n * 2.0);
                double u2 = x * x + y * y, u4 = u2 * u2;
                double deltaf = average + deviation * Math.Cos(2 * (Math.Atan2(y, x) - azimuth));
                double argument = k1 * deltaf * u2 + k2 * u4 - k5 - k3;
                double relion = -Math.Sin(argument) * Math.Exp(-bFactor / 4 * u2);
                worst = Math.Max(worst, Math.Abs(relion - ctf.Evaluate(x, y)));
            }
        }
        Assert.True(worst < 1e-12, $"largest difference {worst:g3}");
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.07)]
    [InlineData(0.0)]
    public void ValueAtZeroFrequencyIsPlusTheAmplitudeContrast(double w)
    {
        var ctf = new Ctf(15000, 12000, 10, 300, 2.7, w, 1);
        Assert.Equal(w, ctf.Evaluate(0, 0), 1e-15);
        Assert.Equal(w, ctf.Grid(8, 8, centered: true)[4 * 8 + 4], 1e-15);
        Assert.Equal(w, ctf.Grid(7, 7)[0], 1e-15);
    }

    [Fact]
    public void DefocusAlongTheAstigmatismAxesIsUAndV()
    {
        var ctf = Astigmatic();
        double axis = 35 * Math.PI / 180;
        Assert.Equal(20000, ctf.Defocus(axis), 1e-9);
        Assert.Equal(16000, ctf.Defocus(axis + Math.PI / 2), 1e-9);
        Assert.Equal(20000, ctf.Defocus(axis + Math.PI), 1e-9);
        Assert.Equal(18000, ctf.Defocus(axis + Math.PI / 4), 1e-9);
        // The first zero is nearer along the larger defocus.
        Assert.True(ctf.Zeros(1, axis)[0] < ctf.Zeros(1, axis + Math.PI / 2)[0]);
    }

    [Fact]
    public void BFactorIsTheEnvelopeExpMinusBkSquaredOverFour()
    {
        var plain = Astigmatic();
        var damped = Astigmatic(bFactor: 120);
        foreach (var (kx, ky) in new[] { (0.013, 0.02), (0.1, -0.05), (-0.2, 0.17) })
        {
            double k2 = kx * kx + ky * ky;
            Assert.Equal(plain.Evaluate(kx, ky) * Math.Exp(-120 * k2 / 4), damped.Evaluate(kx, ky), 1e-14);
        }
    }

    [Theory]
    [InlineData(6, 5)]
    [InlineData(7, 8)]
    public void GridIsInDftOrderOrCentred(int ny, int nx)
    {
        var ctf = Astigmatic(pixelSize: 2);
        var dft = ctf.Grid(ny, nx);
        var centred = ctf.Grid(ny, nx, centered: true);
        Assert.Equal(1 / (nx * 2.0), ctf.Frequency(1, nx), 1e-15);
        Assert.Equal(-1 / (nx * 2.0), ctf.Frequency(nx - 1, nx), 1e-15);
        Assert.Equal(0, ctf.Frequency(nx / 2, nx, centered: true));
        Assert.Equal(-(nx / 2) / (nx * 2.0), ctf.Frequency(0, nx, centered: true), 1e-15);
        for (int y = 0; y < ny; y++)
        {
            for (int x = 0; x < nx; x++)
            {
                Assert.Equal(ctf.Evaluate(ctf.Frequency(x, nx), ctf.Frequency(y, ny)), dft[y * nx + x]);
                // The same frequency in centred order, except the +Nyquist row/column of an even side (centred holds −Nyquist).
                bool nyquist = (ny % 2 == 0 && y == ny / 2) || (nx % 2 == 0 && x == nx / 2);
                if (!nyquist)
                {
                    Assert.Equal(dft[y * nx + x], centred[(y + ny / 2) % ny * nx + (x + nx / 2) % nx]);
                }
            }
        }
    }

    [Fact]
    public void EqualParametersMakeEqualCtfs()
    {
        var a = Astigmatic();
        var b = Astigmatic();
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a.WithPixelSize(1.6));
        Assert.Equal(a, a.WithPixelSize(1.6).WithPixelSize(1.5));
        Assert.NotEqual(a, Astigmatic(phaseShift: 1));
        Assert.NotEqual(a, new Ctf(20000, 16000, 36, 300, 2.7, 0.1, 1.5));
    }

    [Theory]
    [InlineData(0.0, 15000.0)]
    [InlineData(double.NaN, 15000.0)]
    [InlineData(15000.0, -1.0)]
    public void ANonPositiveDefocusIsRefused(double u, double v)
        => Assert.Throws<ArgumentException>(() => new Ctf(u, v, 0, 300, 2.7, 0.1, 1));

    [Fact]
    public void FilterOfADeltaIsTheInverseDftOfItsTransferFunction()
    {
        // Angle 0 keeps the CTF even in k_y as well, so the half-spectrum c2r transform sees a consistent Nyquist column.
        var ctf = new Ctf(9000, 7000, 0, 300, 2.7, 0.1, 2);
        const int l = 9, margin = 2, box = l + 2 * margin;
        var filter = new MicrographFilter(ctf, null, 2, margin);
        int p = filter.GridSize(l);
        var image = new double[l * l];
        image[l / 2 * l + l / 2] = 1;
        var filtered = new double[box * box];
        filter.Apply(image, l, filtered);
        // The delta sits at (p − l)/2 + l/2 on the P grid; the box starts margin pixels before the image.
        int offset = (p - l) / 2, boxStart = offset - margin, delta = offset + l / 2;
        double worst = 0;
        for (int y = 0; y < box; y++)
        {
            for (int x = 0; x < box; x++)
            {
                int dy = y + boxStart - delta, dx = x + boxStart - delta;
                double sum = 0;
                for (int ky = 0; ky < p; ky++)
                {
                    for (int kx = 0; kx < p; kx++)
                    {
                        double value = filter.Value(NoiseSpectrum.Frequency(kx, p), NoiseSpectrum.Frequency(ky, p));
                        sum += value * Math.Cos(2 * Math.PI * ((double)kx * dx + (double)ky * dy) / p);
                    }
                }
                worst = Math.Max(worst, Math.Abs(sum / ((double)p * p) - filtered[y * box + x]));
            }
        }
        Assert.True(worst < 1e-12, $"largest difference {worst:g3} (P = {p})");
        // The filter's centre is the CTF's mean over the grid: positive (w > 0 keeps a density positive at low frequency).
        Assert.Equal(1, Math.Sign(filtered[(margin + l / 2) * box + margin + l / 2]));
    }

    [Fact]
    public void WhiteningOnlyFilterOfWhiteNoiseIsTheIdentityOverSigma()
    {
        var filter = new MicrographFilter(null, NoiseSpectrum.White(4), 1.5, 1);
        const int l = 7, box = l + 2;
        var rng = new Random(5);
        var image = Enumerable.Range(0, l * l).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var filtered = new double[box * box];
        filter.Apply(image, l, filtered);
        for (int y = 0; y < box; y++)
        {
            for (int x = 0; x < box; x++)
            {
                bool inside = y >= 1 && y <= l && x >= 1 && x <= l;
                double expected = inside ? image[(y - 1) * l + x - 1] / 2 : 0;
                Assert.Equal(expected, filtered[y * box + x], 1e-12);
            }
        }
    }

    [Fact]
    public void FiltersWithEqualPartsAreEqual()
    {
        var ctf = Astigmatic();
        var a = new MicrographFilter(ctf, NoiseSpectrum.White(2), 1.5, 3);
        var b = new MicrographFilter(Astigmatic(), NoiseSpectrum.White(2), 1.5, 3);
        Assert.True(a.Equals(b));
        Assert.Equal(a, (object)b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(new MicrographFilter(ctf, NoiseSpectrum.White(2), 1.5, 4)));
        Assert.False(a.Equals(new MicrographFilter(ctf, NoiseSpectrum.White(3), 1.5, 3)));
        Assert.False(a.Equals(new MicrographFilter(ctf, null, 1.5, 3)));
        Assert.False(a.Equals(new MicrographFilter(Astigmatic(phaseShift: 5), NoiseSpectrum.White(2), 1.5, 3)));
        Assert.False(a.Equals(null));
        // The filter holds the CTF at the patches' pixel size.
        Assert.Equal(2.0, new MicrographFilter(ctf, null, 2, 0).Ctf!.PixelSize);
    }
}
