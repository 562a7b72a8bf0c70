#requires -Version 7.4
<#
.SYNOPSIS
    A parameter sweep, as method developers run them: reconstruction quality against SNR.
.DESCRIPTION
    For each SNR, simulates a micrograph of the phantom (seeded, so every point can be repeated), cuts it into
    patches, runs Invoke-ApproxEm from the same low-passed initial guess, and records the FSC(0.5) crossing
    before and after. Writes the table to sweep.csv and prints it. Small by default (L = 11, about a minute
    on 2 cores); -Size 17 reproduces the paper's patch size.
.PARAMETER Snr
    The SNR values of eq. (4) to sweep.
.PARAMETER Size
    L, the side of the volume and of the patches.
.PARAMETER OutputFolder
    Where sweep.csv goes (default: out/sweep beside the repository).
.EXAMPLE
    dotnet pwsh ./examples/Sweep-Snr.ps1 -Snr 0.5, 2, 8
#>
[CmdletBinding()]
param(
    [double[]] $Snr = @(1, 4, 16),
    [ValidateRange(7, 33)]
    [int] $Size = 11,
    [string] $OutputFolder = (Join-Path $PSScriptRoot '../out/sweep')
)
$ErrorActionPreference = 'Stop'
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null

$truth = New-EmVolume -Phantom -Size $Size -VoxelSize 3
$initial = $truth | Resize-EmVolume -Size ([int][math]::Ceiling($Size / 3)) | Resize-EmVolume -Size $Size
$before = (Measure-Fsc -Reference $truth -Volume $initial).CrossingShell

$rows = foreach ($s in $Snr) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $mic = New-Micrograph -Volume $truth -Size (24 * $Size) -Density 0.4 -Snr $s -Seed 100 -WarningAction SilentlyContinue
    $result = $mic | Get-PatchSet -PatchSize $Size |
        Invoke-ApproxEm -InitialVolume $initial -EllMax 4, 6 -RotationCount 300 -StochasticFactor 1 -MaxIterations 3, 2 -Reference $truth -Seed 1
    $fsc = $result | Measure-Fsc -Reference $truth
    [pscustomobject]@{
        Snr            = $s
        MeasuredSnr    = [math]::Round($mic.MeasuredSnr, 3)
        Particles      = $mic.ParticleCount
        FscBefore      = [math]::Round($before, 2)
        FscAfter       = [math]::Round($fsc.CrossingShell, 2)
        BestDuringRun  = [math]::Round(($result.History | Measure-Object FscShell -Maximum).Maximum, 2)
        ResolutionA    = [math]::Round($fsc.ResolutionAngstrom, 1)
        Empty          = [math]::Round($result.EmptyProbability, 3)
        Seconds        = [math]::Round($clock.Elapsed.TotalSeconds, 1)
    }
}
$rows | Format-Table -AutoSize | Out-String | Write-Host
$csv = Join-Path $OutputFolder 'sweep.csv'
$rows | Export-Csv -LiteralPath $csv -NoTypeInformation
Write-Host "Wrote $csv"
