using CryoEmPS.Core.Numerics;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// Stage 5 of the forward model (<see cref="ForwardModel"/>): white Gaussian noise of variance σ² per pixel, independent
/// between pixels (eq. 3). The simulator draws it; the E-step scores patches with its density
/// N(I; A x, σ²I) = exp(−‖I − A x‖²/(2σ²)) / (2πσ²)^{L²/2}.
/// </summary>
public sealed class WhiteGaussianNoise
{
    public WhiteGaussianNoise(double variance)
    {
        if (!(variance >= 0) || double.IsInfinity(variance))
        {
            throw new ArgumentOutOfRangeException(nameof(variance), variance, "σ² must be 0 or more and finite.");
        }

        Variance = variance;
    }

    /// <summary>σ², the variance per pixel.</summary>
    public double Variance { get; }

    /// <summary>log of the density's normaliser for an L×L image: −½·L²·log(2πσ²).</summary>
    public double LogNormalizer(int imageSize) => -0.5 * imageSize * imageSize * Math.Log(2 * Math.PI * Variance);

    /// <summary>
    /// noisy = clean + ε for the <paramref name="width"/>-wide image, in blocks of <paramref name="rowsPerBlock"/> rows; block b
    /// draws from its own generator seeded by <paramref name="seedOfBlock"/>(b), pairs of pixels from one Box–Muller pair
    /// (<see cref="NormalDeviate.Pair"/>), so the result does not depend on the thread count. Returns Σ ε² (summed per
    /// block, then over blocks in order): the realised noise power.
    /// </summary>
    public double AddTo(double[] clean, double[] noisy, int width, int rowsPerBlock, Func<int, int> seedOfBlock, CancellationToken token)
    {
        int rows = clean.Length / width;
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        double sigma = Math.Sqrt(Variance);
        var blockSquares = new double[blocks];
        Parallel.For(0, blocks, new ParallelOptions { CancellationToken = token }, block =>
        {
            var generator = new SeededRandom(seedOfBlock(block));
            long start = (long)block * rowsPerBlock * width;
            long end = Math.Min((long)(block + 1) * rowsPerBlock, rows) * width;
            double squares = 0;
            for (long i = start; i < end; i += 2)
            {
                var (first, second) = NormalDeviate.Pair(generator, sigma);
                noisy[i] = clean[i] + first;
                squares += first * first;
                if (i + 1 < end)
                {
                    noisy[i + 1] = clean[i + 1] + second;
                    squares += second * second;
                }
            }

            blockSquares[block] = squares;
        });
        double total = 0;
        foreach (var squares in blockSquares)
        {
            total += squares;
        }

        return total;
    }
}
