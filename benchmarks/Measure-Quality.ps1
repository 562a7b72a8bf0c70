#requires -Version 7.4
<#
.SYNOPSIS
    The quality issue's numbers (issue 11): the paper protocol from the fair start, per stage and at the end, for a list of SNRs,
    volumes and option sets — a table to paste into a note.
.DESCRIPTION
    For each SNR, volume and option set it simulates the paper protocol's micrograph exactly as benchmarks/Invoke-Benchmark.ps1
    does (Method 2, N = 1003, γ = 0.4, well separated, -Seed), starts from the fair start (the truth Fourier-cropped to 5³ and
    padded back to 17³), runs Invoke-ApproxEm on the paper's schedule (ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10
    iterations, ε = −∞) with σ² NOT given, and prints one row:
      start          FSC 0.5 crossing of the fair start (as the EM sees it, at ℓmax 6);
      stages         the crossing of the map each stage handed on (the best by the truth-free criterion so far, else its last);
      result         the crossing of the returned map, and its gain over the start;
      half / est.    the half-map 0.143 crossing and the truth-free estimate of the 0.5 crossing, of the returned map;
      σ² error       the final σ² estimate against the variance of the noise actually added;
      seconds        the EM's wall time.
    All crossings are FSC against the truth at 0.5, interpolated, in shells of 8. Each run takes about 5 minutes on 2 cores.
    Prints numbers; asserts nothing.
.PARAMETER Snr
    One or more SNRs (eq. 4).
.PARAMETER Volume
    Phantom (New-EmVolume -Phantom) and/or Structure (examples/5cvz_final.pdb at 6 Å/voxel).
.PARAMETER Options
    Named option sets: Quality (-HalfSet -HeldOutFraction 0.05), QualityPrior (the same with -Prior Gaussian, T = 4 by default), Plain (no
    half-sets, no prior, incremental EM), Paper (-MStep Minibatch, no half-sets; σ² still estimated).
.PARAMETER Seed
    The micrograph and EM seed (default 2026, Invoke-Benchmark.ps1's).
.EXAMPLE
    dotnet pwsh ./benchmarks/Measure-Quality.ps1 -Snr 0.5, 1, 3, 10 -Volume Phantom -Options Quality, QualityPrior
#>
[CmdletBinding()]
param(
    [ValidateRange(1e-6, 1e6)]
    [double[]] $Snr = @(1),
    [ValidateSet('Phantom', 'Structure')]
    [string[]] $Volume = @('Phantom', 'Structure'),
    [ValidateSet('Quality', 'QualityPrior', 'Plain', 'Paper')]
    [string[]] $Options = @('Quality', 'QualityPrior'),
    [int] $Seed = 2026
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
$ProgressPreference = 'SilentlyContinue'
$L = 17
$structure = Join-Path $PSScriptRoot '../examples/5cvz_final.pdb'
$sets = @{
    Quality      = @{ HalfSet = $true; HeldOutFraction = 0.05 }
    QualityPrior = @{ HalfSet = $true; HeldOutFraction = 0.05; Prior = 'Gaussian' }
    Plain        = @{ MStep = 'Incremental' }
    Paper        = @{ MStep = 'Minibatch' }
}
$fmt = [System.Globalization.CultureInfo]::InvariantCulture
Write-Output ([string]::Format($fmt, 'Paper schedule from the fair start 5³, σ² estimated, N = 1003, seed {0}; FSC against the truth at 0.5 (shells of 8).', $Seed))
Write-Output ''
Write-Output '| SNR | volume | options | start | stage 1 / 2 / 3 | result (gain) | half-map / estimate | σ² error | s |'
Write-Output '|---|---|---|---|---|---|---|---|---|'
foreach ($s in $Snr) {
    foreach ($which in $Volume) {
        $truth = if ($which -eq 'Phantom') { New-EmVolume -Phantom -Size $L } else { New-EmVolume -AtomicModel $structure -Size $L -VoxelSize 6 }
        $mic = New-Micrograph -Volume $truth -Size 1003 -Density 0.4 -Snr $s -Spacing WellSeparated -Seed $Seed -WarningAction SilentlyContinue
        $patches = $mic | Get-PatchSet -PatchSize $L
        $start = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size $L
        foreach ($name in $Options) {
            $opt = $sets[$name]
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $r = $patches | Invoke-ApproxEm -InitialVolume $start -EllMax 6, 10, 14 -RotationCount 3392, 3392, 1376 -StochasticFactor 1, 0.5, 0.25 `
                -MaxIterations 5, 5, 10 -Tolerance ([double]::NegativeInfinity) -Seed $Seed -Reference $truth @opt
            $seconds = $clock.Elapsed.TotalSeconds
            $stages = ($r.StageResultRows | ForEach-Object { [string]::Format($fmt, '{0:0.00}', $r.History[$_].FscShell) }) -join ' / '
            $label = if ($which -eq 'Phantom') { 'phantom' } else { '5cvz' }
            Write-Output ([string]::Format($fmt, '| {0:0.###} | {1} | {2} | {3:0.00} | {4} | {5:0.00} ({6:+0.00;-0.00}) | {7:0.00} / {8:0.00} | {9:+0.00;-0.00} % | {10:0} |',
                    $s, $label, $name, $r.InitialFscShell, $stages, $r.FinalFscShell, $r.FinalFscShell - $r.InitialFscShell,
                    $r.HalfMapFscShell, $r.EstimatedFscShell, 100 * ($r.NoiseVariance / $mic.NoiseVariance - 1), $seconds))
        }
    }
}
