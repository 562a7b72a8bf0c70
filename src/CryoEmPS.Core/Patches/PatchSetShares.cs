using CryoEmPS.Core.Native;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Patches;

/// <summary>
/// A data set spread over the ranks of an MPI job without any rank holding all of it (issue 13): each rank loads only its own
/// micrographs (Import-Micrograph -RankShare) and cuts its own patch set; <see cref="Join"/> makes the one patch set of the
/// whole data set on every rank, in which every rank knows every patch's origin, content and micrograph (with its name, CTF,
/// whitening and signal scale), but holds only its own patches' pixels. The joined set is the patch set one process would cut
/// from all the micrographs in rank order (the same indices, micrograph numbers and fingerprint), so the EM, its minibatches,
/// half-sets, held-out patches and checkpoints work on it unchanged: each rank scores the patches it holds.
/// </summary>
public static class PatchSetShares
{
    /// <summary>
    /// The ranks' shares joined in rank order (every rank calls it with its own <paramref name="share"/>; a collective). One
    /// process: <paramref name="share"/> itself (without its <see cref="PatchSet.RankShare"/> mark). Throws
    /// <see cref="ArgumentException"/> on every rank alike when the shares do not fit together (another patch size; a share
    /// that is itself a join).
    /// </summary>
    public static PatchSet Join(PatchSet share, ICommunicator world)
    {
        ArgumentNullException.ThrowIfNull(share);
        if (!share.HoldsAll)
        {
            throw new ArgumentException("The patch set is already a join of the ranks' shares.", nameof(share));
        }

        var blobs = Gather(Describe(share), world);
        var parts = blobs.Select(blob => new Reader(blob)).Select(Part.Read).ToArray();
        var disagreeing = parts.Select((part, rank) => (part, rank)).Where(p => p.part.PatchSize != parts[0].PatchSize).ToArray();
        if (disagreeing.Length > 0)
        {
            throw new ArgumentException(
                $"The ranks' patch sets have different patch sizes (rank 0: {parts[0].PatchSize}, rank {disagreeing[0].rank}: " +
                $"{disagreeing[0].part.PatchSize}); give every rank's Get-PatchSet the same -PatchSize.", nameof(share));
        }

        int count = parts.Sum(part => part.Origins.Length);
        var origins = new PatchOrigin[count];
        var content = new PatchContent[count];
        var names = new List<string>();
        var ctfs = new List<Ctf?>();
        var whitenings = new List<NoiseSpectrum?>();
        var scales = new List<double>();
        int offset = 0, micrographOffset = 0;
        foreach (var part in parts)
        {
            for (int q = 0; q < part.Origins.Length; q++)
            {
                var origin = part.Origins[q];
                origins[offset + q] = origin with { Micrograph = origin.Micrograph + micrographOffset };
                content[offset + q] = part.Content[q];
            }

            names.AddRange(part.Names);
            ctfs.AddRange(part.Ctfs);
            whitenings.AddRange(part.Whitenings);
            scales.AddRange(part.Scales);
            offset += part.Origins.Length;
            micrographOffset += part.Names.Length;
        }

        int start = parts.Take(world.Rank).Sum(part => part.Origins.Length);
        var held = Enumerable.Range(start, share.Count).ToArray();
        double pixelSize = parts.All(part => part.PixelSize > 0 && Math.Abs(part.PixelSize - parts[0].PixelSize) <= 1e-6 * parts[0].PixelSize)
            ? parts[0].PixelSize
            : 0;
        double noiseVariance = parts.All(part => part.NoiseVariance.Equals(parts[0].NoiseVariance)) ? parts[0].NoiseVariance : double.NaN;
        return new PatchSet(share.PatchSize, share.Data, origins, content, noiseVariance, names, pixelSize,
            world.Size > 1 ? held : null)
        {
            Ctfs = ctfs.Any(ctf => ctf != null) ? ctfs.ToArray() : Array.Empty<Ctf?>(),
            Whitenings = whitenings.Any(spectrum => spectrum != null) ? whitenings.ToArray() : Array.Empty<NoiseSpectrum?>(),
            SignalScales = scales.Any(scale => scale != 1) ? scales.ToArray() : Array.Empty<double>(),
        };
    }

    /// <summary>
    /// Σ ‖I_q‖² over <paramref name="indices"/> (every patch when null): each micrograph's patches added in index order, then
    /// the micrographs' sums in micrograph order. A micrograph is held whole by one rank, so for a joined share each rank adds
    /// its micrographs' sums, one sum over the ranks gathers them exactly (one non-zero term per micrograph), and the result
    /// is the same bits on any rank count and in one process (the checkpoint's σ² and a random x₀'s scale depend on it).
    /// </summary>
    public static double SumOfSquares(PatchSet patches, IEnumerable<int>? indices, ICommunicator world)
    {
        var sums = new double[patches.MicrographIndexCount];
        foreach (int q in indices ?? Enumerable.Range(0, patches.Count))
        {
            if (!patches.Holds(q))
            {
                continue;
            }

            ref double sum = ref sums[patches.Origins[q].Micrograph];
            foreach (double value in patches.Patch(q))
            {
                sum += value * value;
            }
        }

        if (!patches.HoldsAll)
        {
            world.SumInPlace(sums);
        }

        double total = 0;
        foreach (double sum in sums)
        {
            total += sum;
        }

        return total;
    }

    /// <summary>
    /// Every rank's array, on every rank, in rank order: one sum of the lengths, then one sum of all the arrays, each rank's in its
    /// own place (zeros elsewhere, so every value arrives exactly).
    /// </summary>
    public static double[][] Gather(double[] mine, ICommunicator world)
    {
        if (world.Size == 1)
        {
            return new[] { mine };
        }

        var lengths = new double[world.Size];
        lengths[world.Rank] = mine.Length;
        world.SumInPlace(lengths);
        var starts = new long[world.Size + 1];
        for (int r = 0; r < world.Size; r++)
        {
            starts[r + 1] = starts[r] + (long)lengths[r];
        }

        if (starts[^1] > Array.MaxLength)
        {
            throw new ArgumentException($"The ranks' shares describe {starts[^1]} values, more than one array holds.");
        }

        var all = new double[starts[^1]];
        mine.CopyTo(all, starts[world.Rank]);
        world.SumInPlace(all);
        return Enumerable.Range(0, world.Size).Select(r => all[(int)starts[r]..(int)starts[r + 1]]).ToArray();
    }

    /// <summary>
    /// The share as numbers: L, the patch count, σ², the pixel size, the micrograph count; per patch (micrograph, row, column,
    /// content); per micrograph its name, CTF, whitening spectrum and signal scale.
    /// </summary>
    private static double[] Describe(PatchSet share)
    {
        // Every micrograph a patch names (a patch set made without names still numbers its micrographs).
        int micrographs = Math.Max(share.MicrographCount, share.MicrographIndexCount);
        var writer = new List<double> { share.PatchSize, share.Count, share.NoiseVariance, share.PixelSize, micrographs };
        for (int q = 0; q < share.Count; q++)
        {
            var origin = share.Origins[q];
            writer.AddRange(new double[] { origin.Micrograph, origin.Row, origin.Column, (int)share.Content[q] });
        }

        for (int m = 0; m < micrographs; m++)
        {
            WriteText(writer, m < share.MicrographCount ? share.MicrographNames[m] : "");
            var ctf = m < share.Ctfs.Length ? share.Ctfs[m] : null;
            writer.Add(ctf == null ? 0 : 1);
            if (ctf != null)
            {
                writer.AddRange(new[]
                {
                    ctf.DefocusU, ctf.DefocusV, ctf.DefocusAngle, ctf.Voltage, ctf.SphericalAberration, ctf.AmplitudeContrast,
                    ctf.PixelSize, ctf.PhaseShift, ctf.BFactor,
                });
            }

            var whitening = m < share.Whitenings.Length ? share.Whitenings[m] : null;
            writer.Add(whitening == null ? 0 : 1);
            if (whitening != null)
            {
                writer.Add(whitening.PixelSize);
                WriteText(writer, whitening.Name);
                writer.Add(whitening.Count);
                writer.AddRange(whitening.Power);
            }

            writer.Add(m < share.SignalScales.Length ? share.SignalScales[m] : 1);
        }

        return writer.ToArray();
    }

    private static void WriteText(List<double> writer, string? text)
    {
        text ??= "";
        writer.Add(text.Length);
        writer.AddRange(text.Select(c => (double)c));
    }

    /// <summary>One rank's share as <see cref="Describe"/> wrote it.</summary>
    private sealed record Part(int PatchSize, double NoiseVariance, double PixelSize, PatchOrigin[] Origins, PatchContent[] Content,
        string[] Names, Ctf?[] Ctfs, NoiseSpectrum?[] Whitenings, double[] Scales)
    {
        public static Part Read(Reader reader)
        {
            int patchSize = reader.Int(), count = reader.Int();
            double noiseVariance = reader.Next(), pixelSize = reader.Next();
            int micrographs = reader.Int();
            var origins = new PatchOrigin[count];
            var content = new PatchContent[count];
            for (int q = 0; q < count; q++)
            {
                origins[q] = new PatchOrigin(reader.Int(), reader.Int(), reader.Int());
                content[q] = (PatchContent)reader.Int();
            }

            var names = new string[micrographs];
            var ctfs = new Ctf?[micrographs];
            var whitenings = new NoiseSpectrum?[micrographs];
            var scales = new double[micrographs];
            for (int m = 0; m < micrographs; m++)
            {
                names[m] = reader.Text();
                if (reader.Int() == 1)
                {
                    double u = reader.Next(), v = reader.Next(), angle = reader.Next(), kv = reader.Next(), cs = reader.Next(),
                        amplitude = reader.Next(), pixel = reader.Next(), phase = reader.Next(), b = reader.Next();
                    ctfs[m] = new Ctf(u, v, angle, kv, cs, amplitude, pixel, phase, b);
                }

                if (reader.Int() == 1)
                {
                    double pixel = reader.Next();
                    string name = reader.Text();
                    var power = new double[reader.Int()];
                    for (int i = 0; i < power.Length; i++)
                    {
                        power[i] = reader.Next();
                    }

                    whitenings[m] = new NoiseSpectrum(power, pixel, name);
                }

                scales[m] = reader.Next();
            }

            return new Part(patchSize, noiseVariance, pixelSize, origins, content, names, ctfs, whitenings, scales);
        }
    }

    /// <summary>Reads a share's numbers in order.</summary>
    private sealed class Reader
    {
        private readonly double[] _values;
        private int _position;

        public Reader(double[] values) => _values = values;

        public double Next() => _values[_position++];

        public int Int() => checked((int)_values[_position++]);

        public string Text() => new(Enumerable.Range(0, Int()).Select(_ => (char)Int()).ToArray());
    }
}
