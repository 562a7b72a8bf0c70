using System.Numerics;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Simulation;

/// <summary>
/// The power spectrum of a micrograph as CTF estimation programs look at it (Welch's method): the micrograph is cut into
/// non-overlapping T×T tiles, each tile's mean is subtracted, and the periodograms |DFT|²/T² of the tiles are averaged.
/// The result is T×T, [y, x] with the zero frequency at (⌊T/2⌋, ⌊T/2⌋) (centred, for pictures); index i on an axis is
/// the frequency (i − ⌊T/2⌋)/(T · pixel size). Thon rings show in it as the CTF²'s rings.
/// </summary>
public static unsafe class TiledPowerSpectrum
{
    /// <summary>
    /// The centred mean periodogram of <paramref name="micrograph"/>'s <paramref name="tile"/>×<paramref name="tile"/> tiles
    /// (tile ≥ 8 and at most the smaller side of the micrograph).
    /// </summary>
    public static double[] Compute(Micrograph micrograph, int tile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(micrograph);
        if (tile < 8 || tile > Math.Min(micrograph.SizeY, micrograph.SizeX))
        {
            throw new ArgumentOutOfRangeException(nameof(tile), tile,
                $"A tile must be at least 8 pixels and fit in the {micrograph.SizeY}x{micrograph.SizeX} micrograph.");
        }

        int tilesY = micrograph.SizeY / tile, tilesX = micrograph.SizeX / tile;
        // Centre the grid of tiles, so the margins left over are split evenly.
        int startY = (micrograph.SizeY - tilesY * tile) / 2, startX = (micrograph.SizeX - tilesX * tile) / 2;
        int half = tile / 2 + 1;
        var sum = new double[tile * half];
        using var fft = new RealFft2D(tile, tile, measure: false);
        var real = Fftw.Alloc<double>((long)tile * tile);
        var spectrum = Fftw.Alloc<Complex>((long)tile * half);
        try
        {
            for (int ty = 0; ty < tilesY; ty++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (int tx = 0; tx < tilesX; tx++)
                {
                    double mean = 0;
                    for (int y = 0; y < tile; y++)
                    {
                        var row = micrograph.Data.AsSpan((startY + ty * tile + y) * micrograph.SizeX + startX + tx * tile, tile);
                        row.CopyTo(new Span<double>(real + (long)y * tile, tile));
                        foreach (double v in row)
                        {
                            mean += v;
                        }
                    }
                    mean /= (double)tile * tile;
                    for (int i = 0; i < tile * tile; i++)
                    {
                        real[i] -= mean;
                    }
                    fft.Forward(real, spectrum);
                    for (int i = 0; i < tile * half; i++)
                    {
                        sum[i] += spectrum[i].Real * spectrum[i].Real + spectrum[i].Imaginary * spectrum[i].Imaginary;
                    }
                }
            }
        }
        finally
        {
            Fftw.Free((IntPtr)real);
            Fftw.Free((IntPtr)spectrum);
        }

        double scale = 1.0 / ((double)tilesY * tilesX * tile * tile);
        var centred = new double[tile * tile];
        int c = tile / 2;
        for (int y = 0; y < tile; y++)
        {
            for (int x = 0; x < tile; x++)
            {
                // DFT indices of the centred pixel; the half spectrum holds kx in 0..T/2, the rest by Hermitian symmetry.
                int ky = ((y - c) % tile + tile) % tile, kx = ((x - c) % tile + tile) % tile;
                double power = kx < half ? sum[ky * half + kx] : sum[(tile - ky) % tile * half + (tile - kx)];
                centred[y * tile + x] = power * scale;
            }
        }
        return centred;
    }
}
