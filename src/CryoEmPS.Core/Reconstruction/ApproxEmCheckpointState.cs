namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// What a checkpoint keeps of each chain (the one reconstruction, or each gold-standard half) beyond the shared fields, and the
/// best iterate so far. Block statistics are not stored: each block's visit (x, v, σ² and iteration) is, and resume recomputes
/// them exactly.
/// </summary>
internal sealed record ApproxEmCheckpointState(ApproxEmChainState[] Chains, int BestRow, int BestStage, double[][]? BestX)
{
    public void Write(BinaryWriter writer)
    {
        writer.Write(Chains.Length);
        foreach (var chain in Chains)
        {
            WriteVector(writer, chain.X);
            writer.Write(chain.EmptyProbability);
            writer.Write(chain.NoiseVariance);
            writer.Write(chain.Visits.Length);
            foreach (var visit in chain.Visits)
            {
                writer.Write(visit != null);
                if (visit != null)
                {
                    writer.Write(visit.Iteration);
                    WriteVector(writer, visit.X);
                    writer.Write(visit.EmptyProbability);
                    writer.Write(visit.NoiseVariance);
                }
            }
        }

        writer.Write(BestRow);
        writer.Write(BestStage);
        writer.Write(BestX?.Length ?? 0);
        foreach (var x in BestX ?? Array.Empty<double[]>())
        {
            WriteVector(writer, x);
        }
    }

    public static ApproxEmCheckpointState Read(BinaryReader reader)
    {
        var chains = new ApproxEmChainState[Count(reader, 2)];
        for (int c = 0; c < chains.Length; c++)
        {
            var x = ReadVector(reader);
            double v = reader.ReadDouble(), noiseVariance = reader.ReadDouble();
            var visits = new BlockVisit?[Count(reader, 1 << 20)];
            for (int b = 0; b < visits.Length; b++)
            {
                if (reader.ReadBoolean())
                {
                    int iteration = reader.ReadInt32();
                    var visitX = ReadVector(reader);
                    visits[b] = new BlockVisit(iteration, visitX, reader.ReadDouble(), reader.ReadDouble());
                }
            }

            chains[c] = new ApproxEmChainState(x, v, noiseVariance, visits);
        }

        int bestRow = reader.ReadInt32(), bestStage = reader.ReadInt32();
        var best = new double[Count(reader, 2)][];
        for (int c = 0; c < best.Length; c++)
        {
            best[c] = ReadVector(reader);
        }

        return new ApproxEmCheckpointState(chains, bestRow, bestStage, best.Length == 0 ? null : best);
    }

    private static void WriteVector(BinaryWriter writer, double[] values)
    {
        writer.Write(values.Length);
        foreach (double value in values)
        {
            writer.Write(value);
        }
    }

    private static double[] ReadVector(BinaryReader reader)
    {
        var values = new double[Count(reader, 1 << 24)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadDouble();
        }

        return values;
    }

    /// <summary>A stored count, refused when negative or above <paramref name="limit"/> (a damaged or crafted file).</summary>
    private static int Count(BinaryReader reader, int limit)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > limit)
        {
            throw new InvalidDataException($"The checkpoint holds an impossible count ({count}).");
        }

        return count;
    }
}

/// <summary>One chain's state in a checkpoint: x, v, σ² and the visit of every block of the current stage.</summary>
internal sealed record ApproxEmChainState(double[] X, double EmptyProbability, double NoiseVariance, BlockVisit?[] Visits);
