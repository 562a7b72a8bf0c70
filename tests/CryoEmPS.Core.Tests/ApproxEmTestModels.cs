using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// A dense random linear model for the EM tests: B(ω) has entries drawn from a generator seeded by (rotation, column),
/// so it is a fixed function of the rotation, thread-safe, and models with more parameters extend those with fewer
/// (the first n columns agree): zero-padding is then exact frequency marching. The EM maths does not depend on what B is.
/// </summary>
internal sealed class RandomDenseModel : ILinearProjectionModel
{
    private readonly int _seed;
    private readonly int _zeroColumn;
    public RandomDenseModel(int l, int n, int seed = 1, int zeroColumn = -1) { ImageSize = l; ParameterCount = n; _seed = seed; _zeroColumn = zeroColumn; }
    public int ImageSize { get; }
    public int ParameterCount { get; }

    public void ProjectionMatrix(Rotation r, Span<double> d)
    {
        int l2 = ImageSize * ImageSize, n = ParameterCount;
        ulong h = (ulong)_seed * 0x9E3779B97F4A7C15UL;
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) { h ^= (ulong)BitConverter.DoubleToInt64Bits(r[i, j]); h *= 1099511628211UL; }
        for (int c = 0; c < n; c++)
        {
            var rng = new Random((int)((h ^ (ulong)c * 0xBF58476D1CE4E5B9UL) % int.MaxValue));
            for (int p = 0; p < l2; p++) d[p * n + c] = c == _zeroColumn ? 0 : rng.NextDouble() - 0.5;
        }
    }
}

/// <summary>Brute-force reference: explicit A_{s,ω} matrices from B(ω) and eq. (19), and everything the EM computes from them.</summary>
internal static class BruteForceEm
{
    /// <summary>A_{s,ω} (L²×n, row-major) for the shift s = (sy, sx): patch[y,x] = (Z B x)[(y+sy) mod 2L, (x+sx) mod 2L].</summary>
    public static double[] A(ILinearProjectionModel model, Rotation r, int sy, int sx)
    {
        int l = model.ImageSize, n = model.ParameterCount;
        var b = new double[l * l * n];
        model.ProjectionMatrix(r, b);
        var a = new double[l * l * n];
        for (int y = 0; y < l; y++)
            for (int x = 0; x < l; x++)
            {
                int u = (y + sy) % (2 * l), v = (x + sx) % (2 * l);
                if (u >= l || v >= l) continue; // the zero padding
                Array.Copy(b, (u * l + v) * n, a, (y * l + x) * n, n);
            }
        return a;
    }

    public static double[] Apply(double[] a, double[] x, int rows)
    {
        int n = x.Length; var o = new double[rows];
        for (int i = 0; i < rows; i++) { double s = 0; for (int j = 0; j < n; j++) s += a[i * n + j] * x[j]; o[i] = s; }
        return o;
    }

    public sealed record Result(double[] LogLik /*[q, s_y, s_x, ω] over (2L)² shifts*/, double[] PatchLl, double V, double[] C, double[] Y);

    /// <summary>Everything by definition, over all (2L)² shifts: log N, the posteriors with ρ (eq. 32), LL, v (eq. 31), C and y (eqs. 29–30).</summary>
    public static Result Run(ILinearProjectionModel model, Rotation[] rot, double[] x, double[][] patches, double s2, double v)
    {
        int l = model.ImageSize, n = model.ParameterCount, k = rot.Length, p = patches.Length, l2 = l * l, ns = 2 * l;
        var logLik = new double[p * ns * ns * k];
        var logPost = new double[p * ns * ns * k];
        var patchLl = new double[p];
        var c = new double[n * n]; var yv = new double[n];
        double vSum = 0;
        var As = new double[ns * ns * k][];
        for (int sy = 0; sy < ns; sy++) for (int sx = 0; sx < ns; sx++) for (int w = 0; w < k; w++) As[(sy * ns + sx) * k + w] = A(model, rot[w], sy, sx);
        for (int q = 0; q < p; q++)
        {
            double max = double.NegativeInfinity;
            for (int sy = 0; sy < ns; sy++) for (int sx = 0; sx < ns; sx++) for (int w = 0; w < k; w++)
            {
                int idx = ((q * ns + sy) * ns + sx) * k + w;
                var ax = Apply(As[(sy * ns + sx) * k + w], x, l2);
                double r2 = 0; for (int i = 0; i < l2; i++) { double d = patches[q][i] - ax[i]; r2 += d * d; }
                logLik[idx] = -0.5 * l2 * Math.Log(2 * Math.PI * s2) - r2 / (2 * s2);
                double prior = ShiftPrior.Probability(sy, sx, l, v) / k;
                logPost[idx] = prior > 0 ? logLik[idx] + Math.Log(prior) : double.NegativeInfinity;
                max = Math.Max(max, logPost[idx]);
            }
            double sum = 0;
            for (int i = 0; i < ns * ns * k; i++) sum += Math.Exp(logPost[q * ns * ns * k + i] - max);
            patchLl[q] = max + Math.Log(sum);
            for (int sy = 0; sy < ns; sy++) for (int sx = 0; sx < ns; sx++) for (int w = 0; w < k; w++)
            {
                int idx = ((q * ns + sy) * ns + sx) * k + w;
                double wt = Math.Exp(logPost[idx] - patchLl[q]);
                if (sy == l && sx == l) vSum += wt;
                if (wt == 0) continue;
                var a = As[(sy * ns + sx) * k + w];
                for (int i = 0; i < l2; i++)
                {
                    double pi = patches[q][i];
                    for (int j1 = 0; j1 < n; j1++)
                    {
                        double aij = a[i * n + j1]; if (aij == 0) continue;
                        yv[j1] += wt * aij * pi;
                        for (int j2 = 0; j2 < n; j2++) c[j1 * n + j2] += wt * aij * a[i * n + j2];
                    }
                }
            }
        }
        return new Result(logLik, patchLl, vSum / p, c, yv);
    }
}

/// <summary>Synthetic patches made exactly by the paper's model (eq. 18): each patch empty, or A_{s,ω}x at a random (s, ω), plus noise.</summary>
internal static class EmData
{
    public sealed record Truth(int Shift /*-1 empty, else s_y·2L+s_x*/, int Rotation);

    public static (PatchSet Patches, Truth[] Truths) Make(ILinearProjectionModel model, Rotation[] rot, double[] x, int count, double sigma, double emptyFraction, int seed)
    {
        int l = model.ImageSize, l2 = l * l, ns = 2 * l;
        var rng = new Random(seed);
        var data = new double[count * l2];
        var truths = new Truth[count];
        for (int q = 0; q < count; q++)
        {
            if (rng.NextDouble() < emptyFraction) truths[q] = new Truth(-1, -1);
            else
            {
                int sy, sx;
                do { sy = rng.Next(ns); sx = rng.Next(ns); } while (sy == l || sx == l);
                int w = rng.Next(rot.Length);
                truths[q] = new Truth(sy * ns + sx, w);
                var ax = BruteForceEm.Apply(BruteForceEm.A(model, rot[w], sy, sx), x, l2);
                Array.Copy(ax, 0, data, q * l2, l2);
            }
            for (int i = 0; i < l2; i++) data[q * l2 + i] += sigma * Gauss(rng);
        }
        var origins = Enumerable.Range(0, count).Select(i => new PatchOrigin(0, i * l, 0)).ToArray();
        return (new PatchSet(l, data, origins, null, sigma > 0 ? sigma * sigma : double.NaN), truths);
    }

    public static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    public static double[] RandomVector(int n, double scale, int seed)
    {
        var r = new Random(seed); var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = scale * Gauss(r);
        return v;
    }

    public static Rotation[] Rotations(int k, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, k).Select(_ => UniformRotation.Draw(r)).ToArray();
    }
}

/// <summary>Progress reported synchronously (Progress&lt;T&gt; posts to the thread pool), so a test can cancel at an exact row.</summary>
internal sealed class SyncProgress : IProgress<ApproxEmProgress>
{
    private readonly Action<ApproxEmProgress> _action;

    public SyncProgress(Action<ApproxEmProgress> action) => _action = action;

    public void Report(ApproxEmProgress value) => _action(value);
}
