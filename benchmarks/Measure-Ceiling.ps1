#requires -Version 7.4
<#
.SYNOPSIS
    The ceilings any EM can reach on the paper's benchmark problem (issue 11, item 6), for the built-in phantom and the
    real structure in examples/: a table to paste into a note.
.DESCRIPTION
    For each volume (L = 17) it simulates the paper protocol's micrograph exactly as benchmarks/Invoke-Benchmark.ps1 does
    (Method 2, N = 1003, γ = 0.4, well separated, -Snr, -Seed; 523 particles at the default seed) and prints, for each ℓmax:
      FB ceiling    the FSC 0.5 crossing of the volume against its own ℓmax expansion (ConvertTo-FourierBessel and back),
                    and its FSC at Nyquist (shell 8): what the model can represent at all;
      oracle fit    the FSC 0.5 crossing, against the truth, of the least-squares fit of the same noisy micrograph with the
                    TRUE rotation and position of every particle, and its mean FSC over shells 5–8: what the data support
                    without a prior (Measure-FourierBesselCeiling -Micrograph);
      on the grid   the same fit with each true rotation snapped to the nearest rotation of the EM's grid at that stage
                    (-RotationCount, the paper's K by default): what an EM searching that grid can reach;
    and the crossing of the fair start, the truth Fourier-cropped to 5³ and padded back to 17³
    (Resize-EmVolume -Size 5 | Resize-EmVolume -Size 17), as a voxel map and as the EM sees it at the first ℓmax.
    All crossings are FSC against the truth at 0.5, interpolated, in shells of 8 (8.00 = never below 0.5).
    Prints numbers; asserts nothing.
.PARAMETER Snr
    One or more SNRs (eq. 4); one block of rows per SNR.
.PARAMETER Volume
    Which volumes: Phantom (New-EmVolume -Phantom) and/or Structure (examples/5cvz_final.pdb at 6 Å/voxel).
.PARAMETER EllMax
    The ℓmax values (default the paper's 6, 10, 14).
.PARAMETER RotationCount
    K of the EM's rotation grid, one per ℓmax or one for all (default the paper's 3392, 3392, 1376: the K of the stage in the
    same position, so -EllMax 4, 6 alone uses 3392, 3392; beyond three ℓmax values 1376).
.PARAMETER Size
    N, the micrograph side (default 1003, the paper's).
.PARAMETER Seed
    The micrograph seed (default 2026, Invoke-Benchmark.ps1's).
.EXAMPLE
    $env:CRYOEMPS_MODULE = './out/CryoEmPS/CryoEmPS.psd1'; dotnet pwsh ./benchmarks/Measure-Ceiling.ps1
.EXAMPLE
    dotnet pwsh ./benchmarks/Measure-Ceiling.ps1 -Snr 0.5, 1, 3, 10 -Volume Phantom
#>
[CmdletBinding()]
param(
    [ValidateRange(1e-6, 1e6)]
    [double[]] $Snr = @(1),
    [ValidateSet('Phantom', 'Structure')]
    [string[]] $Volume = @('Phantom', 'Structure'),
    [ValidateRange(0, 14)]
    [int[]] $EllMax = @(6, 10, 14),
    [ValidateRange(1, 1000000)]
    [int[]] $RotationCount = @(3392, 3392, 1376),
    [ValidateRange(17, 4096)]
    [int] $Size = 1003,
    [int] $Seed = 2026
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
$ProgressPreference = 'SilentlyContinue'
$L = 17
$structure = Join-Path $PSScriptRoot '../examples/5cvz_final.pdb'
$clock = [System.Diagnostics.Stopwatch]::StartNew()

function Get-Truth([string] $Which) {
    if ($Which -eq 'Phantom') { return New-EmVolume -Phantom -Size $L }
    return New-EmVolume -AtomicModel $structure -Size $L -VoxelSize 6
}

if (-not $PSBoundParameters.ContainsKey('RotationCount')) {
    # The paper's K of the stage in the same position (its last K beyond three); a K the caller gives goes to the cmdlet as it is.
    $paper = $RotationCount
    $RotationCount = @(for ($i = 0; $i -lt $EllMax.Count; $i++) { $paper[[math]::Min($i, $paper.Count - 1)] })
}
$rows = foreach ($s in $Snr) {
    foreach ($which in $Volume) {
        $truth = Get-Truth $which
        $label = if ($which -eq 'Phantom') { 'phantom' } else { '5cvz (6 Å/px)' }
        $mic = New-Micrograph -Volume $truth -Size $Size -Density 0.4 -Snr $s -Spacing WellSeparated -Seed $Seed -WarningAction SilentlyContinue
        $fair = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size $L
        $fairShell = (Measure-Fsc -Reference $truth -Volume $fair).CrossingShell
        $fairModel = $fair | ConvertTo-FourierBessel -EllMax $EllMax[0] | ConvertFrom-FourierBessel
        $fairModelShell = (Measure-Fsc -Reference $truth -Volume $fairModel).CrossingShell
        foreach ($m in @($truth | Measure-FourierBesselCeiling -EllMax $EllMax -Micrograph $mic -RotationCount $RotationCount)) {
            $oracleCurve = @($m.Oracle.Curve | Where-Object Shell -ge 5)
            [pscustomobject]@{
                Snr = $s; Volume = $label; Particles = $mic.ParticleCount; EllMax = $m.EllMax; Parameters = $m.ParameterCount
                CeilingShell = $m.ExpansionShell; CeilingNyquist = $m.Expansion.Curve[-1].Correlation
                OracleShell = $m.OracleShell; GridShell = $m.GridOracleShell; K = $m.RotationCount; OracleMean58 = ($oracleCurve | Measure-Object Correlation -Average).Average
                FairShell = $fairShell; FairModelShell = $fairModelShell
            }
        }
        Write-Verbose ("{0}, SNR {1}: done at {2:0.0} s" -f $label, $s, $clock.Elapsed.TotalSeconds)
    }
}

$fmt = [System.Globalization.CultureInfo]::InvariantCulture
$header = 'Ceilings at L = {0}: Method 2 micrograph N = {1}, γ = 0.4 well separated, seed {2}; FSC against the truth at 0.5 ' +
    '(shells of {3}; {3}.00 = never below 0.5). {4:0} s.'
Write-Output ([string]::Format($fmt, $header, $L, $Size, $Seed, [int][math]::Floor($L / 2), $clock.Elapsed.TotalSeconds))
Write-Output ''
Write-Output '| SNR | volume | particles | ℓmax | parameters | FB ceiling | FB FSC @ 8 | oracle-pose fit | oracle mean FSC 5–8 | oracle on the EM''s grid (K) | fair start 5³ (voxels / at first ℓmax) |'
Write-Output '|---|---|---|---|---|---|---|---|---|---|---|'
foreach ($r in $rows) {
    Write-Output ([string]::Format($fmt, '| {0:0.###} | {1} | {2} | {3} | {4} | {5:0.00} | {6:0.000} | {7:0.00} | {8:0.000} | {9:0.00} ({10}) | {11:0.00} / {12:0.00} |',
            $r.Snr, $r.Volume, $r.Particles, $r.EllMax, $r.Parameters, $r.CeilingShell, $r.CeilingNyquist, $r.OracleShell,
            $r.OracleMean58, $r.GridShell, $r.K, $r.FairShell, $r.FairModelShell))
}
