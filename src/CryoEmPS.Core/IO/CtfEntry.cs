using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.IO;

/// <summary>
/// One micrograph's CTF as a RELION STAR or CTFFIND4 file gives it: the micrograph's name as the file writes it (RELION: a
/// path relative to the project folder such as MotionCorr/job002/mic001.mrc; CTFFIND4: its "# Input file:", "n@file" for
/// the n-th micrograph of a stack) and its <see cref="Projection.Ctf"/> at the file's pixel size.
/// </summary>
public sealed record CtfEntry(string MicrographName, Ctf Ctf)
{
    public override string ToString() => $"{MicrographName}: {Ctf}";
}
