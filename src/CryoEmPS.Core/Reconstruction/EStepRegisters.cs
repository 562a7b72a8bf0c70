namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The E-step's SIMD registers in this process: width in bits, and rotations (lanes) per register in single and double precision.
/// </summary>
public sealed record EStepRegisters(int Bits, int SingleLanes, int DoubleLanes);
