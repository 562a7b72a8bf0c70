using CryoEmPS.Core.Evaluation;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>The ceilings of one volume at one ℓmax (<see cref="FourierBesselCeiling.Measure"/>).</summary>
public sealed class CeilingMeasurement
{
    internal CeilingMeasurement(string volumeName, int size, int ellMax, int parameterCount, double threshold, FscResult expansion,
        FscResult? oracle, FourierBesselVolume? oracleVolume, int particleCount)
    {
        VolumeName = volumeName;
        Size = size;
        EllMax = ellMax;
        ParameterCount = parameterCount;
        Threshold = threshold;
        Expansion = expansion;
        Oracle = oracle;
        OracleVolume = oracleVolume;
        ParticleCount = particleCount;
    }

    /// <summary>The name of the volume measured.</summary>
    public string VolumeName { get; }
    /// <summary>L, the side of the volume.</summary>
    public int Size { get; }
    public int EllMax { get; }
    /// <summary>The number of real Fourier–Bessel parameters at ℓmax.</summary>
    public int ParameterCount { get; }
    /// <summary>The FSC threshold of the crossings (0.5 against a known truth).</summary>
    public double Threshold { get; }
    /// <summary>The FSC of the volume against its own ℓmax expansion: the Fourier–Bessel ceiling.</summary>
    public FscResult Expansion { get; }
    /// <summary>The interpolated crossing of <see cref="Expansion"/> (shells; floor(L/2) when it never crosses).</summary>
    public double ExpansionShell => Expansion.CrossingShell;
    /// <summary>The FSC of the oracle-pose fit against the volume; null without micrographs.</summary>
    public FscResult? Oracle { get; }
    /// <summary>The crossing of <see cref="Oracle"/> (shells); NaN without micrographs.</summary>
    public double OracleShell => Oracle?.CrossingShell ?? double.NaN;
    /// <summary>The oracle-pose fit itself; null without micrographs.</summary>
    public FourierBesselVolume? OracleVolume { get; }
    /// <summary>The particles the oracle-pose fit used (0 without micrographs).</summary>
    public int ParticleCount { get; }
    /// <summary>The Tikhonov term the oracle solve needed (0 when its normal matrix was positive definite).</summary>
    public double OracleRegularization { get; internal init; }
    /// <summary>
    /// The FSC against the volume of the oracle-pose fit with each true rotation snapped to the nearest of a grid of
    /// <see cref="RotationCount"/> rotations (the best an EM searching that grid can do); null unless a grid was given.
    /// </summary>
    public FscResult? GridOracle { get; internal init; }
    /// <summary>The crossing of <see cref="GridOracle"/> (shells); NaN without a grid.</summary>
    public double GridOracleShell => GridOracle?.CrossingShell ?? double.NaN;
    /// <summary>K of the grid of <see cref="GridOracle"/>; 0 without one.</summary>
    public int RotationCount { get; internal init; }

    public override string ToString()
    {
        string oracle = Oracle == null ? "" : $", oracle-pose fit ({ParticleCount} particles) at {OracleShell:0.00}";
        oracle += GridOracle == null ? "" : $", on {RotationCount} rotations at {GridOracleShell:0.00}";
        return $"{VolumeName} ℓmax {EllMax} ({ParameterCount} parameters): own expansion crosses FSC {Threshold} at shell " +
            $"{ExpansionShell:0.00} of {Size / 2}{oracle}";
    }
}
