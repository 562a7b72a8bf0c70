using System.Management.Automation;

namespace CryoEmPS.Commands;

/// <summary>
/// Get-EmMpiRank: which MPI rank this process is, of how many. Without an MPI launcher, rank 0 of 1. Under
/// <c>mpirun -np N dotnet pwsh -File run.ps1</c> every rank runs the same script: Invoke-ApproxEm spreads its work over them
/// by itself, and only rank 0 writes files; use (Get-EmMpiRank).IsFirst to print or plot once.
/// </summary>
[Cmdlet(VerbsCommon.Get, "EmMpiRank")]
[OutputType(typeof(EmMpiRank))]
public sealed class GetEmMpiRankCommand : CryoEmCmdlet
{
    protected override void EndProcessing() => WriteObject(new EmMpiRank(World));
}
