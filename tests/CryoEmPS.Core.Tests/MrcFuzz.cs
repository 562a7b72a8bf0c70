using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Numerics;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// Seeded MRC mutants: valid small files (every mode, both byte orders, permuted axes, extended headers, micrograph labels)
/// mutated in the header words, the labels and the length, plus the overflow family (dimensions whose product wraps 2⁶⁴ to
/// the file's real size, every permutation and mode). Each mutant is read as a volume, an image stack and micrographs; the
/// outcome is "ok" or a CryoEmPS ErrorId, and anything else is a foreign exception.
/// </summary>
internal sealed class MrcFuzz
{
    private ulong _state;

    public MrcFuzz(ulong seed) => _state = seed;

    /// <summary>The outcome counts by ErrorId ("ok", "Mrc…", "InsufficientMemory", …; "foreign:Type" for anything else).</summary>
    public SortedDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

    public List<string> Foreign { get; } = new();

    public int Mutants { get; private set; }

    public double SlowestSeconds { get; private set; }

    private ulong Next()
    {
        _state += SplitMix64.Gamma;
        return SplitMix64.Mix(_state);
    }

    private int Below(int n) => (int)(Next() % (ulong)n);

    /// <summary>(nx, ny, nz) with nx·ny·nz ≡ 64 (mod 2⁶⁴): 8 × 1073807362 × 2147352580 and the same product regrouped.</summary>
    public static IEnumerable<(int, int, int)> OverflowTriples()
    {
        var bases = new[] { (8, 1073807362, 2147352580), (16, 536903681, 2147352580), (4, 1073807362, -1) };
        foreach (var (a, b, c) in bases)
        {
            if (c < 0)
            {
                continue;
            }
            yield return (a, b, c);
            yield return (a, c, b);
            yield return (b, a, c);
            yield return (b, c, a);
            yield return (c, a, b);
            yield return (c, b, a);
        }
    }

    /// <summary>The overflow family: every permutation and mode, data 64 voxels long as the wrapped product says.</summary>
    public IEnumerable<byte[]> OverflowMutants()
    {
        foreach (var (nx, ny, nz) in OverflowTriples())
        {
            foreach (int mode in new[] { 0, 1, 2, 6, 12 })
            {
                var builder = new MrcFileBuilder { Nc = 4, Nr = 4, Ns = 4, Mode = mode, FileValues = new double[64] };
                var bytes = builder.Build();
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0), nx);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), ny);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), nz);
                yield return bytes;
            }
        }
    }

    private MrcFileBuilder Seed()
    {
        int mode = new[] { 0, 1, 2, 6, 12 }[Below(5)];
        int nc = 1 + Below(6), nr = 1 + Below(6), ns = 1 + Below(4);
        var maps = new[] { (1, 2, 3), (3, 2, 1), (2, 1, 3), (2, 3, 1), (3, 1, 2), (1, 3, 2) }[Below(6)];
        var values = new double[nc * nr * ns];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Below(100);
        }
        var builder = new MrcFileBuilder
        {
            Nc = nc, Nr = nr, Ns = ns, Mode = mode, MapC = maps.Item1, MapR = maps.Item2, MapS = maps.Item3,
            BigEndian = Below(4) == 0, Nsymbt = Below(3) == 0 ? 8 * Below(5) : 0, FileValues = values,
            CellX = nc * 1.5f, CellY = nr * 1.5f, CellZ = ns * 1.5f,
        };
        if (Below(2) == 0)
        {
            builder.Labels = new[] { "CryoEmPS 0.1.0", $"CryoEmPS mic=0 sigma2={Below(5)} seed={Below(9)} name=m" };
        }
        return builder;
    }

    private static readonly int[] Extremes =
    {
        0, 1, -1, 2, 3, 4, 1024, 65536, int.MaxValue, int.MinValue, int.MaxValue - 1, 46341, 1 << 30,
    };

    /// <summary>One random mutant of a random seed file.</summary>
    public byte[] Mutant()
    {
        var bytes = Seed().Build();
        int edits = 1 + Below(3);
        for (int e = 0; e < edits; e++)
        {
            int kind = Below(8);
            if (bytes.Length < 1024 && kind != 4)
            {
                continue; // already cut inside the header: nothing left to edit there
            }
            switch (kind)
            {
                case 0:
                case 1:
                {
                    // A header word (dimensions, mode, starts, axes, nsymbt, nlabl, ...) set to an extreme or random value.
                    int word = new[] { 0, 1, 2, 3, 4, 7, 16, 17, 18, 23, 55, Below(56) }[Below(12)];
                    int value = Below(2) == 0 ? Extremes[Below(Extremes.Length)] : (int)Next();
                    if (bytes.Length >= 4 * word + 4)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * word), value);
                    }
                    break;
                }
                case 2:
                {
                    // One random bit of the header.
                    int bit = Below(1024 * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                }
                case 3:
                    // The machine stamp.
                    bytes[212] = (byte)Next();
                    bytes[213] = (byte)Next();
                    break;
                case 4:
                {
                    // Truncated or extended by a few bytes, or cut inside the header.
                    int cut = Below(3) == 0 ? Below(1100) : bytes.Length + Below(17) - 8;
                    cut = Math.Clamp(cut, 0, bytes.Length + 64);
                    var resized = new byte[cut];
                    Array.Copy(bytes, resized, Math.Min(cut, bytes.Length));
                    bytes = resized;
                    break;
                }
                case 5:
                {
                    // A label with an odd sigma2.
                    if (bytes.Length >= 1024)
                    {
                        string sigma = new[] { "Infinity", "-Infinity", "-5", "NaN", "1e999", "0", "abc", "-0" }[Below(8)];
                        var label = Encoding.ASCII.GetBytes($"CryoEmPS mic={Below(3)} sigma2={sigma} seed={(int)Next()}".PadRight(80));
                        label.AsSpan(0, 80).CopyTo(bytes.AsSpan(224 + 80 * Below(10)));
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(220), 10);
                    }
                    break;
                }
                case 6:
                {
                    // Dimensions rescaled so that their product keeps the data size (nx·k, ny/k).
                    if (bytes.Length >= 12)
                    {
                        int nx = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(0));
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0), unchecked(nx * (1 << Below(31))));
                    }
                    break;
                }
                default:
                {
                    // One overflow triple into a random seed file.
                    var triples = OverflowTriples().ToArray();
                    var (nx, ny, nz) = triples[Below(triples.Length)];
                    if (bytes.Length >= 12)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0), nx);
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), ny);
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), nz);
                    }
                    break;
                }
            }
        }
        return bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> and reads it three ways, counting the outcomes.</summary>
    public void Run(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        Mutants++;
        foreach (var read in new Action<string>[]
        {
            p => MrcReader.ReadVolume(p),
            p => MrcReader.ReadImageStack(p),
            p => MrcReader.ReadMicrographs(p),
        })
        {
            var watch = Stopwatch.StartNew();
            string outcome;
            try
            {
                read(path);
                outcome = "ok";
            }
            catch (MrcFormatException ex)
            {
                outcome = ex.ErrorId;
            }
            catch (MemoryLimitException ex)
            {
                outcome = ex.ErrorId;
            }
            catch (Exception ex)
            {
                outcome = "foreign:" + ex.GetType().Name;
                if (Foreign.Count < 10)
                {
                    string head = Convert.ToHexString(bytes.AsSpan(0, Math.Min(16, bytes.Length)));
                    Foreign.Add($"mutant {Mutants}: {ex.GetType().Name}: {ex.Message} (header {head})");
                }
            }
            SlowestSeconds = Math.Max(SlowestSeconds, watch.Elapsed.TotalSeconds);
            Counts[outcome] = Counts.GetValueOrDefault(outcome) + 1;
        }
    }

    /// <summary>The table: one line per outcome.</summary>
    public string Table()
    {
        var text = new StringBuilder();
        text.AppendLine($"{Mutants} mutants, {Counts.Values.Sum()} reads (volume, image stack, micrographs):");
        foreach (var (outcome, count) in Counts)
        {
            text.AppendLine($"  {outcome,-28} {count,7}");
        }
        return text.ToString();
    }
}
