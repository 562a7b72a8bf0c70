using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Import-Micrograph: reads a 2-D MRC micrograph (nz = 1) or a stack of micrographs (one Micrograph per
/// section). Restores NoiseVariance and Seed written by Export-Micrograph; -NoiseVariance overrides.
/// -RankShare (under MPI): each rank reads only its contiguous share of the files named, and marks the micrographs as its share.
/// </summary>
[Cmdlet(VerbsData.Import, "Micrograph", DefaultParameterSetName = "Path")]
[OutputType(typeof(Micrograph))]
public sealed class ImportMicrographCommand : ImportMrcCmdletBase
{
    // -RankShare: every file named, in order (the share is chosen once all are known).
    private readonly List<string> _files = new();

    /// <summary>σ² of the white noise, overriding the value stored in the file.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double? NoiseVariance { get; set; }

    /// <summary>
    /// Under MPI, rank r of P reads only files ⌊n·r/P⌋ … ⌊n·(r+1)/P⌋ − 1 of the n files named (in the order given), so that no
    /// rank holds the whole data set; the micrographs are marked as its share (RankShare), and Invoke-ApproxEm joins the ranks'
    /// patch sets. One process reads every file. A file that cannot be read stops the rank (and so the job).
    /// </summary>
    [Parameter]
    public SwitchParameter RankShare { get; set; }

    protected override void Import(string file)
    {
        if (RankShare)
        {
            _files.Add(file);
            return;
        }

        Read(file, null);
    }

    protected override void EndProcessing()
    {
        if (!RankShare || _files.Count == 0)
        {
            return;
        }

        var share = Core.Native.RankShare.Of(World);
        if (_files.Count < share.Size)
        {
            Fail(new ArgumentException($"-RankShare: {_files.Count} file(s) for {share.Size} ranks; every rank needs at least one " +
                    "micrograph file. Run with fewer ranks (mpirun -np), or give more files."),
                "RankShareTooFewFiles", ErrorCategory.InvalidArgument, _files);
        }

        var (start, end) = share.Range(_files.Count);
        WriteVerbose($"{share}: reading files {start + 1}–{end} of {_files.Count} (-RankShare).");
        // A file this rank cannot read would leave the other ranks waiting for its patches: stop instead.
        ReadErrorsTerminate = true;
        for (int i = start; i < end; i++)
        {
            CancellationToken.ThrowIfCancellationRequested();
            Read(_files[i], share);
        }
    }

    private void Read(string file, Core.Native.RankShare? share)
    {
        if (!TryReadMrc(file, MrcReader.ReadMicrographs, out var micrographs))
        {
            return;
        }
        WarnIfNonCubicVoxel(file, checkZ: false);
        for (int i = 0; i < micrographs.Length; i++)
        {
            var micrograph = micrographs[i];
            micrograph.FilePath = micrographs.Length == 1 ? file : $"{i + 1}@{file}";
            micrograph.RankShare = share;
            if (NoiseVariance.HasValue)
            {
                micrograph.NoiseVariance = NoiseVariance.Value;
            }
            else if (double.IsNaN(micrograph.NoiseVariance))
            {
                WriteVerbose($"'{micrograph.Name}': the file does not record the noise variance; give -NoiseVariance for Invoke-ApproxEm.");
            }
            WriteObject(micrograph);
        }
    }
}
