using System.Globalization;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Plotting;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Simulation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>
/// Maps CryoEmPS results onto the plain data of the charts (Core/Plotting), so the charts never learn the EM's types.
/// A new column of the EM history is one line in <see cref="History"/>.
/// </summary>
internal static class PictureMapping
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// FSC curves against spatial frequency: in 1/Å when every curve's voxel size is known, else in cycles/pixel; the
    /// crossing of each curve's own threshold is marked (0.5 against a truth, 0.143 between half maps).
    /// </summary>
    public static FscChart Fsc(IReadOnlyList<FscResult> results, IReadOnlyList<string>? labels)
    {
        bool angstrom = results.All(r => r.VoxelSize > 0);
        var curves = new List<PlotSeries>();
        var crossings = new List<PlotMarker>();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            double PerUnit(double shell) => angstrom ? shell / (r.Size * r.VoxelSize) : shell / r.Size;
            string label = labels != null && i < labels.Count ? labels[i] : results.Count == 1 ? "FSC" : $"FSC {i + 1}";
            var x = r.Curve.Select(s => PerUnit(s.Shell)).ToArray();
            var y = r.Curve.Select(s => s.Correlation).ToArray();
            string threshold = r.Threshold.ToString("0.###", Invariant);
            if (r.CrossesThreshold)
            {
                string where = r.VoxelSize > 0
                    ? string.Format(Invariant, "{0:0.0} Å", r.ResolutionAngstrom)
                    : string.Format(Invariant, "shell {0:0.00}", r.CrossingShell);
                crossings.Add(new PlotMarker(PerUnit(r.CrossingShell), r.Threshold, $"{threshold} at {where}"));
            }
            else
            {
                label += $" (stays above {threshold})";
                crossings.Add(new PlotMarker(double.NaN, r.Threshold, ""));
            }
            curves.Add(new PlotSeries(label, x, y));
        }
        var thresholds = new List<double> { 0.5, 0.143 };
        thresholds.AddRange(results.Select(r => r.Threshold).Where(t => !thresholds.Any(u => Math.Abs(u - t) < 1e-9)).Distinct());
        return new FscChart
        {
            Title = "Fourier shell correlation",
            XLabel = angstrom ? "spatial frequency (1/Å)" : "spatial frequency (cycles/pixel)",
            Curves = curves,
            Crossings = crossings,
            Thresholds = thresholds,
        };
    }

    /// <summary>
    /// The EM history, one panel per quantity, against the step (every row of every stage in order), with the stage
    /// boundaries and their ℓmax. The one place that reads <see cref="ApproxEmIteration"/> for a chart: add a panel or
    /// a series here for a new history column (e.g. the half-map resolution).
    /// </summary>
    public static HistoryChart History(ApproxEmResult result)
    {
        var rows = result.History;
        var step = Enumerable.Range(0, rows.Length).Select(i => (double)i).ToArray();
        double voxel = result.Volume.VoxelSize;
        PlotSeries Series(string label, Func<ApproxEmIteration, double> value) => new(label, step, rows.Select(value).ToArray());
        double Angstrom(double shell) => shell > 0 ? result.Size * voxel / shell : double.NaN;
        var panels = new List<PlotPanel>
        {
            new("LL / patch", [Series("log-likelihood per patch", row => row.LogLikelihoodPerPatch)]),
            voxel > 0
                ? new("resolution (Å)",
                    [Series("FSC 0.5 against the reference", row => Angstrom(row.FscShell)),
                        Series("half maps, FSC 0.143", row => Angstrom(row.HalfMapFscShell)),
                        Series("estimate of the 0.5 crossing (half maps, no truth)", row => Angstrom(row.EstimatedFscShell))])
                : new("FSC crossing (shell)", [Series("0.5 against the reference", row => row.FscShell),
                    Series("half maps, 0.143", row => row.HalfMapFscShell),
                    Series("estimate of the 0.5 crossing (half maps, no truth)", row => row.EstimatedFscShell)]),
            new("v (P empty)", [Series("v", row => row.EmptyProbability)]),
            new("σ² (noise variance)", [Series("σ² of the E-step", row => row.NoiseVariance)]),
            new("seconds", [Series("iteration", row => row.Seconds), Series("of which M-step", row => row.MStepSeconds)]),
        };
        var starts = new List<PlotMarker>();
        for (int i = 0; i < rows.Length; i++)
        {
            if (i == 0 || rows[i].Stage != rows[i - 1].Stage)
            {
                starts.Add(new PlotMarker(i, 0, $"stage {rows[i].Stage}: lmax {rows[i].EllMax}, K {rows[i].RotationCount}"));
            }
        }
        return new HistoryChart
        {
            Title = $"Approximate EM: L = {result.Size}, {result.PatchCount} patches, seed {result.Seed}",
            XLabel = "step (every iteration of every stage, in order; iteration 0 = the stage's start)",
            Step = step,
            Panels = panels,
            StageStarts = starts,
        };
    }

    /// <summary>A micrograph with boxes around its true particles (simulated micrographs) and the EM's placements.</summary>
    public static MicrographChart Micrograph(Micrograph m, ApproxEmResult? result, double zoom, double low, double high)
    {
        var boxes = new List<PlotBox>();
        if (m.Truth != null)
        {
            int side = m.Truth.ParticleSize;
            string group = $"true particles ({m.ParticleCount})";
            boxes.AddRange(m.Truth.Particles.Select(p => new PlotBox(p.Column, p.Row, side, side, group)));
        }
        boxes.AddRange(Placements(result, 0));
        string name = string.IsNullOrEmpty(m.Name) ? "micrograph" : m.Name;
        return new MicrographChart
        {
            Image = new PlotImage(m.Data, m.SizeX, m.SizeY, $"{name}: {m.SizeX}x{m.SizeY} px"),
            Boxes = boxes,
            PixelSize = m.PixelSize,
            Zoom = zoom,
            LowPercentile = low,
            HighPercentile = high,
        };
    }

    /// <summary>
    /// The first micrograph of a patch set laid back together from its patches, with each non-empty patch boxed by its
    /// content (whole, partial, multiple; known for simulated data) and the EM's placements.
    /// </summary>
    public static MicrographChart Patches(PatchSet patches, ApproxEmResult? result, double zoom, double low, double high)
    {
        int l = patches.PatchSize;
        var mine = Enumerable.Range(0, patches.Count).Where(q => patches.Origins[q].Micrograph == 0).ToArray();
        int width = mine.Length == 0 ? l : mine.Max(q => patches.Origins[q].Column) + l;
        int height = mine.Length == 0 ? l : mine.Max(q => patches.Origins[q].Row) + l;
        var values = new double[width * height];
        var boxes = new List<PlotBox>();
        foreach (int q in mine)
        {
            var origin = patches.Origins[q];
            var patch = patches.Patch(q);
            for (int y = 0; y < l; y++)
            {
                patch.Slice(y * l, l).CopyTo(values.AsSpan((origin.Row + y) * width + origin.Column, l));
            }
            var content = patches.Content[q];
            if (content is PatchContent.Whole or PatchContent.Partial or PatchContent.Multiple)
            {
                boxes.Add(new PlotBox(origin.Column, origin.Row, l, l, $"{content.ToString().ToLowerInvariant()} patches"));
            }
        }
        boxes.AddRange(Placements(result, 0));
        string name = patches.MicrographNames.Length > 0 && patches.MicrographNames[0].Length > 0 ? patches.MicrographNames[0] : "micrograph 0";
        return new MicrographChart
        {
            Image = new PlotImage(values, width, height, $"{name}: {mine.Length} patches of {l}x{l} px"),
            Boxes = boxes,
            PixelSize = patches.PixelSize,
            Zoom = zoom,
            LowPercentile = low,
            HighPercentile = high,
        };
    }

    /// <summary>
    /// A CTF on a centred <paramref name="size"/>×<paramref name="size"/> grid at its own pixel size (axes in 1/Å up to
    /// Nyquist), blue for negative, white for 0, red for positive.
    /// </summary>
    public static SpectrumChart Ctf(Ctf ctf, int size)
    {
        var values = ctf.Grid(size, size, centered: true);
        return new SpectrumChart
        {
            Title = $"CTF {ctf.DefocusU:0} / {ctf.DefocusV:0} Å at {ctf.DefocusAngle:0.#}°, {ctf.Voltage:0.#} kV, " +
                $"Cs {ctf.SphericalAberration:0.##} mm, w {ctf.AmplitudeContrast:0.###}" +
                (ctf.PhaseShift != 0 ? $", {ctf.PhaseShift:0.#}°" : "") + (ctf.BFactor != 0 ? $", B {ctf.BFactor:0.#} Å²" : ""),
            Image = new PlotImage(values, size, size, ""),
            FrequencyStep = 1 / (size * ctf.PixelSize),
            AxisLabel = $"spatial frequency (1/Å; {ctf.PixelSize:0.###} Å/px, {size}² grid)",
            Diverging = true,
            Low = -1,
            High = 1,
            ColorBarLabel = "CTF",
        };
    }

    /// <summary>
    /// The micrograph's power spectrum (the mean periodogram of its <paramref name="tile"/>² tiles, log10, less a smooth
    /// radial background so the Thon rings stand out; grey from the low to the high percentile) in the left half, and its
    /// CTF² at the same frequencies in the right half, as CTFFIND's diagnostic image shows them. Without a CTF the whole
    /// spectrum is shown.
    /// </summary>
    public static SpectrumChart PowerSpectrum(Micrograph m, int tile, double low, double high)
    {
        var power = TiledPowerSpectrum.Compute(m, tile);
        int c = tile / 2;
        var log = power.Select(p => Math.Log10(Math.Max(p, 1e-300))).ToArray();
        // The radial background: the mean log power per rounded radius, smoothed over a window much narrower than the image.
        int radii = (int)Math.Ceiling(c * Math.Sqrt(2)) + 2;
        var sum = new double[radii];
        var count = new int[radii];
        int Radius(int y, int x) => (int)Math.Round(Math.Sqrt((double)(y - c) * (y - c) + (double)(x - c) * (x - c)));
        for (int y = 0; y < tile; y++)
        {
            for (int x = 0; x < tile; x++)
            {
                int r = Radius(y, x);
                sum[r] += log[y * tile + x];
                count[r]++;
            }
        }
        int half = Math.Max(2, tile / 64);
        var background = new double[radii];
        for (int r = 0; r < radii; r++)
        {
            double s = 0;
            int n = 0;
            for (int q = Math.Max(0, r - half); q <= Math.Min(radii - 1, r + half); q++)
            {
                s += sum[q];
                n += count[q];
            }
            background[r] = n > 0 ? s / n : 0;
        }
        var values = new double[tile * tile];
        for (int y = 0; y < tile; y++)
        {
            for (int x = 0; x < tile; x++)
            {
                // The zero frequency (the tiles' means, removed) carries no information: show it as background.
                values[y * tile + x] = y == c && x == c ? 0 : log[y * tile + x] - background[Radius(y, x)];
            }
        }
        var ctf = m.Ctf;
        int split = ctf != null ? c : tile;
        var left = new List<double>();
        for (int y = 0; y < tile; y++)
        {
            for (int x = 0; x < split; x++)
            {
                left.Add(values[y * tile + x]);
            }
        }
        left.Sort();
        double At(double p) => left[(int)Math.Clamp(Math.Round(p / 100 * (left.Count - 1)), 0, left.Count - 1)];
        double lo = At(low), hi = At(high);
        if (!(hi > lo))
        {
            hi = lo + 1;
        }
        double pixelSize = m.PixelSize > 0 ? m.PixelSize : ctf?.PixelSize ?? 0;
        var model = ctf?.WithPixelSize(pixelSize).Grid(tile, tile, centered: true);
        for (int y = 0; y < tile; y++)
        {
            for (int x = 0; x < tile; x++)
            {
                int i = y * tile + x;
                values[i] = x < split ? Math.Clamp((values[i] - lo) / (hi - lo), 0, 1) : model![i] * model[i];
            }
        }
        double step = pixelSize > 0 ? 1 / (tile * pixelSize) : 1.0 / tile;
        string name = string.IsNullOrEmpty(m.Name) ? "micrograph" : m.Name;
        int tiles = (m.SizeY / tile) * (m.SizeX / tile);
        return new SpectrumChart
        {
            Title = ctf != null
                ? $"{name}: power spectrum ({tiles} tiles of {tile}²) | CTF² {ctf.DefocusU:0}/{ctf.DefocusV:0} Å at {ctf.DefocusAngle:0.#}°"
                : $"{name}: power spectrum ({tiles} tiles of {tile}²), no CTF attached",
            Image = new PlotImage(values, tile, tile, ""),
            FrequencyStep = step,
            AxisLabel = pixelSize > 0 ? $"spatial frequency (1/Å; {pixelSize:0.###} Å/px)" : "spatial frequency (cycles/pixel)",
            Low = 0,
            High = 1,
            ColorBarLabel = "",
            Dividers = ctf != null ? [-0.5 * step] : [],
            Labels = ctf != null
                ? [new PlotMarker(-0.5 * c * step, double.NaN, "log power spectrum"), new PlotMarker(0.5 * c * step, double.NaN, "CTF² model")]
                : [],
        };
    }

    /// <summary>
    /// Boxes for the EM's most probable placement (shift) of each non-empty patch of micrograph <paramref name="micrograph"/>.
    /// Extension point: an ApproxEmResult does not carry per-patch placements yet, so this returns none. When the EM keeps
    /// the arg-max shift s = (s_y, s_x) of each patch q (eq. 19: the particle's corner sits at patch corner − s + L,
    /// modulo 2L), map them here to PlotBox(column, row, L, L, "EM placements").
    /// </summary>
    public static IEnumerable<PlotBox> Placements(ApproxEmResult? result, int micrograph)
    {
        _ = result;
        _ = micrograph;
        return [];
    }

    /// <summary>
    /// A volume's central z, y and x slices (through index floor(n/2); x right and y down, x right and z down, y right and
    /// z down) on one grey scale, and its projection along z on its own.
    /// </summary>
    public static ImagePanelsChart Volume(Volume v, double zoom, double low, double high)
    {
        int nz = v.SizeZ;
        int ny = v.SizeY;
        int nx = v.SizeX;
        var zs = new double[ny * nx];
        var ys = new double[nz * nx];
        var xs = new double[nz * ny];
        var pz = new double[ny * nx];
        for (int z = 0; z < nz; z++)
        {
            for (int y = 0; y < ny; y++)
            {
                for (int x = 0; x < nx; x++)
                {
                    double value = v[z, y, x];
                    if (z == nz / 2)
                    {
                        zs[y * nx + x] = value;
                    }
                    if (y == ny / 2)
                    {
                        ys[z * nx + x] = value;
                    }
                    if (x == nx / 2)
                    {
                        xs[z * ny + y] = value;
                    }
                    pz[y * nx + x] += value;
                }
            }
        }
        return new ImagePanelsChart
        {
            Title = string.IsNullOrEmpty(v.Name) ? "volume" : v.Name,
            Panels =
            [
                new PlotImage(zs, nx, ny, $"slice z={nz / 2}"),
                new PlotImage(ys, nx, nz, $"slice y={ny / 2}"),
                new PlotImage(xs, ny, nz, $"slice x={nx / 2}"),
                new PlotImage(pz, nx, ny, "projection z"),
            ],
            ScaleGroups = [0, 0, 0, 1],
            PixelSize = v.VoxelSize,
            Zoom = zoom,
            LowPercentile = low,
            HighPercentile = high,
        };
    }
}
