#requires -Version 7.4
<#
.SYNOPSIS
    The main job of CryoEmPS: simulate a micrograph of a molecule and reconstruct the molecule from it,
    without particle picking, by the approximate EM with frequency marching.
.DESCRIPTION
    1. the built-in phantom (17³), 2. a noisy micrograph with well-separated projections (eq. 5),
    3. its L×L patches, 4. Invoke-ApproxEm from a low-passed initial guess with frequency marching,
    5. Measure-Fsc against the truth after each stage, 6. MRC/STAR files of everything.
    Seeded: the same numbers every run. Takes a few minutes on 2 cores.
.PARAMETER OutputFolder
    Where the files go (default: out/demo beside the repository).
.PARAMETER Quick
    A smaller problem (for a fast look): fewer patches, rotations and iterations.
#>
[CmdletBinding()]
param(
    [string] $OutputFolder = (Join-Path $PSScriptRoot '../out/demo'),
    [switch] $Quick
)
$ErrorActionPreference = 'Stop'
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$OutputFolder = (Resolve-Path $OutputFolder).Path
$clock = [System.Diagnostics.Stopwatch]::StartNew()

# --- the problem --------------------------------------------------------------------------------
$L = 17
$N = if ($Quick) { 408 } else { 680 }          # multiples of L: (N/L)² patches
$snr = 3.0
$schedule = if ($Quick) {
    @{ EllMax = 6, 10; RotationCount = 300, 300; StochasticFactor = 1, 0.5; MaxIterations = 3, 3 }
} else {
    @{ EllMax = 6, 10, 14; RotationCount = 1000, 1000, 600; StochasticFactor = 1, 0.5, 0.5; MaxIterations = 4, 3, 3 }
}

Write-Host "CryoEmPS demo: reconstruction directly from a micrograph (no particle picking)" -ForegroundColor Cyan
Write-Host "Output folder: $OutputFolder"

# 1. The molecule: the built-in phantom, a seeded sum of anisotropic Gaussian blobs.
$truth = New-EmVolume -Phantom -Size $L -VoxelSize 3.0
Write-Host ("1. Truth: {0}" -f $truth)

# 2. A micrograph: random sequential placement of well-separated projections, white noise at the SNR of eq. (4).
$mic = New-Micrograph -Volume $truth -Size $N -Density 0.3 -Snr $snr -Spacing WellSeparated -Seed 2026 -WarningAction SilentlyContinue
Write-Host ("2. Micrograph {0}x{0}: {1} particles placed ({2} asked), SNR requested {3}, measured {4:0.000}, sigma² = {5:g4}" -f `
        $mic.Size, $mic.ParticleCount, $mic.RequestedParticleCount, $mic.RequestedSnr, $mic.MeasuredSnr, $mic.NoiseVariance)
$mic | Export-Micrograph -Path (Join-Path $OutputFolder 'micrograph.mrc') -Force
$mic | Export-ParticleCoordinate -Path (Join-Path $OutputFolder 'truth.star') -Force
$truth | Export-EmVolume -Path (Join-Path $OutputFolder 'truth.mrc') -Force
$truth | Export-EmPicture -Path (Join-Path $OutputFolder 'truth.png') -Force
$mic | Export-EmPicture -Path (Join-Path $OutputFolder 'micrograph.png') -Force          # true particles boxed

# 3. Patches: the observed data of the EM.
$patches = $mic | Get-PatchSet -PatchSize $L
Write-Host ("3. Patches: {0} of {1}x{1} ({2} whole, {3} partial, {4} empty)" -f $patches.Count, $L, $patches.WholeCount, $patches.PartialCount, $patches.EmptyCount)
$patches | Export-EmPicture -Path (Join-Path $OutputFolder 'patches.png') -Force      # non-empty patches boxed by content

# 4. The initial guess: the truth low-passed to 5³ and back (the paper starts from an AlphaFold model).
$initial = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size $L
$initial.Name = 'initial (low-passed truth)'
$initial | Export-EmVolume -Path (Join-Path $OutputFolder 'initial.mrc') -Force
$initial | Export-EmPicture -Path (Join-Path $OutputFolder 'initial.png') -Force
$fsc0 = Measure-Fsc -Reference $truth -Volume $initial
Write-Host ("4. Initial guess: FSC 0.5 at shell {0:0.00} of {1} ({2:0.0} Å)" -f $fsc0.CrossingShell, [int][math]::Floor($L / 2), $fsc0.ResolutionAngstrom)

# 5. The approximate EM with frequency marching.
Write-Host ("5. Invoke-ApproxEm: lmax {0}, K {1}, S {2}, iterations {3}" -f ($schedule.EllMax -join '/'), ($schedule.RotationCount -join '/'),
    ($schedule.StochasticFactor -join '/'), ($schedule.MaxIterations -join '/'))
# σ² is not given: the EM estimates it. -HalfSet reconstructs two halves that share no particle, so the History
# carries the half-map resolution (FSC 0.143) and an estimate of the FSC 0.5 crossing, which need no truth.
# -HeldOutFraction keeps 5 % of the patches out of every M-step: their log-likelihood picks the map each stage hands
# on and the one returned. -Prior Gaussian is RELION's prior, its τ² re-estimated from the halves every M-step.
# -Reference only adds the FSC against the truth: it never steers the run.
$result = $patches | Invoke-ApproxEm -InitialVolume $initial @schedule -Reference $truth -Seed 11 -HalfSet -HeldOutFraction 0.05 `
    -Prior Gaussian -CheckpointPath (Join-Path $OutputFolder 'em.checkpoint')

$result.History | Format-Table -AutoSize | Out-String -Width 160 | Write-Host
foreach ($stage in $result.History | Group-Object Stage) {
    $last = $stage.Group[-1]
    Write-Host ("   after stage {0} (lmax {1}): FSC 0.5 at shell {2:0.00}, log-likelihood {3:0.000e0}, v = {4:0.000}" -f `
            $stage.Name, $last.EllMax, $last.FscShell, $last.LogLikelihood, $last.EmptyProbability)
}

# 6. The result.
$fsc = $result | Measure-Fsc -Reference $truth
$result.Volume | Export-EmVolume -Path (Join-Path $OutputFolder 'estimate.mrc') -Force
$result | Export-EmPicture -Path (Join-Path $OutputFolder 'estimate.png') -Force
$result | Export-EmPicture -History -Path (Join-Path $OutputFolder 'history.png') -Force
$halfFsc = Measure-Fsc -HalfVolume $result.HalfVolume
$fsc0, $fsc, $halfFsc | Export-EmPicture -Label 'initial guess vs truth', 'estimate vs truth', 'half map vs half map' `
    -Path (Join-Path $OutputFolder 'fsc.png') -Force
Write-Host ("   σ²: estimated {0:g5}, added by the simulator {1:g5}; without the truth: half-map FSC 0.143 at shell {2:0.00}, " -f `
        $result.NoiseVariance, $mic.NoiseVariance, $result.HalfMapFscShell) -NoNewline
Write-Host ("estimated FSC 0.5 crossing {0:0.00}; returned: stage {1}, iteration {2}" -f $result.EstimatedFscShell,
    $result.BestIteration.Stage, $result.BestIteration.Iteration)
Write-Host ("6. Estimate: FSC 0.5 at shell {0:0.00} of {1} ({2:0.0} Å); initial guess was {3:0.00}" -f $fsc.CrossingShell, [int][math]::Floor($L / 2), $fsc.ResolutionAngstrom, $fsc0.CrossingShell)
Write-Host 'FSC curve (shell: initial -> estimate):'
for ($k = 0; $k -lt $fsc.Curve.Count; $k++) {
    Write-Host ("   {0,2}: {1,7:0.000} -> {2,7:0.000}" -f $k, $fsc0.Curve[$k].Correlation, $fsc.Curve[$k].Correlation)
}
Write-Host ("Files: {0}" -f ((Get-ChildItem $OutputFolder -File | ForEach-Object Name) -join ', '))
Write-Host ("Done in {0:0.0} s." -f $clock.Elapsed.TotalSeconds) -ForegroundColor Cyan
if ($fsc.CrossingShell -le $fsc0.CrossingShell) { Write-Warning 'The estimate did not improve on the initial guess.'; exit 2 }
