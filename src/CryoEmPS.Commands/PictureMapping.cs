using System.Globalization;
using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Plotting;
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
        var panels = new List<PlotPanel>
        {
            new("LL / patch", [Series("log-likelihood per patch", row => row.LogLikelihoodPerPatch)]),
            voxel > 0
                ? new("resolution (Å)",
                    [Series("FSC 0.5 against the reference", row => row.FscShell > 0 ? result.Size * voxel / row.FscShell : double.NaN),
                        Series("half maps, FSC 0.143", row => row.HalfMapFscShell > 0 ? result.Size * voxel / row.HalfMapFscShell : double.NaN)])
                : new("FSC crossing (shell)", [Series("0.5 against the reference", row => row.FscShell),
                    Series("half maps, 0.143", row => row.HalfMapFscShell)]),
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
