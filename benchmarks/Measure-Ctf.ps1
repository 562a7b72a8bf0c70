#requires -Version 7.4
<#
.SYNOPSIS
    The CTF issue's numbers (issue 12): the paper protocol on micrographs with a CTF and coloured noise, with the CTF in the
    model, without it, and on CTF-free data; the whitening estimate's error; the cost of the filter, E-step and M-step apart.
.DESCRIPTION
    For each volume it simulates 4 micrographs as a microscope would make them (Method 1: projections at 2 Å/pixel, the CTF
    applied to each whole micrograph at that pixel size, coloured noise ('Falloff'), then Fourier-downsampled to L = 17 at
    4 Å/pixel; N = 502 each, γ = 0.4 well separated, about the paper protocol's particle count). Each micrograph's defocus is drawn
    from 1–2.5 µm (300 kV, Cs 2.7 mm, amplitude contrast 0.1, mild astigmatism); at 4 Å/pixel at least two CTF zeros fall below
    Nyquist at every defocus (printed). The SNR is eq. (4) computed on the CTF-filtered clean projections, per micrograph.
    Preprocessing is what a user does: Measure-NoiseSpectrum on each micrograph (its error against the spectrum the simulator
    used is printed, RMS over the shells) and Edit-Micrograph -Whiten with that estimate. Then Invoke-ApproxEm on the paper's
    schedule (ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10 iterations) from the fair start (the truth Fourier-cropped to
    5³ and padded back, times L̃/L = 2, Method 1's projection scale), σ² NOT given, no half-sets (the paper's options plus the
    incremental EM, the default), in these runs:
      ctf            the CTF in the model (one filter group per micrograph, -FilterMargin 0);
      ctf margin 3   the same with -FilterMargin 3;
      ctf 1 group    -DefocusGroupTolerance 20000 (one group for all four micrographs);
      ctf 2 groups   -DefocusGroupTolerance 5000;
      ctf rewhitened the ctf run, then each micrograph's noise measured again on the patches it found empty
                     (Measure-NoiseSpectrum -Reconstruction), whitened with that, and the EM run again (the row: the second run,
                     timed with the first);
      no ctf model   the same whitened micrographs with their CTF removed from the objects;
      ctf-free data  micrographs simulated without a CTF (same seeds, same noise model), whitened the same way;
      unfiltered     the CTF-free micrographs not whitened: the EM without any filter (one group; the paper's E-step and
                     M-step), the cost baseline.
    Each row: the whitening estimate's RMS error on the whole micrographs and, measured again after the run on the patches the
    EM found empty (the second pass a user makes), the FSC 0.5 crossing against the truth (shells of 8) of the start, of each stage's map, the result; the E-step and
    M-step seconds summed over the run; the total. Prints numbers; asserts nothing. About 5 minutes per run on 2 cores.
.PARAMETER Volume
    Phantom (New-EmVolume -Phantom) and/or Structure (examples/5cvz_final.pdb).
.PARAMETER Run
    Which runs (see above): Ctf, CtfMargin3, Ctf1Group, Ctf2Groups, NoCtfModel, CtfFreeData, Unfiltered.
.PARAMETER Short
    A quick check instead of the paper schedule: ℓmax 6/10, K 600, S 1, 3 iterations per stage.
.EXAMPLE
    dotnet pwsh ./benchmarks/Measure-Ctf.ps1 -Volume Structure -Run Ctf, NoCtfModel, CtfFreeData
#>
[CmdletBinding()]
param(
    [ValidateSet('Phantom', 'Structure')]
    [string[]] $Volume = @('Phantom', 'Structure'),
    [ValidateSet('Ctf', 'CtfMargin3', 'Ctf1Group', 'Ctf2Groups', 'CtfRewhitened', 'NoCtfModel', 'CtfFreeData', 'Unfiltered')]
    [string[]] $Run = @('Ctf', 'NoCtfModel', 'CtfFreeData'),
    [double] $Snr = 1,
    [int] $Seed = 2026,
    [switch] $Short
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$fmt = [System.Globalization.CultureInfo]::InvariantCulture
$structure = Join-Path $PSScriptRoot '../examples/5cvz_final.pdb'
$L = 17; $full = 34; $fullPixel = 2.0
$optics = New-EmCtf -DefocusU 10000 -Voltage 300 -SphericalAberration 2.7 -AmplitudeContrast 0.1 -PixelSize $fullPixel
$schedule = if ($Short) { @{ EllMax = 6, 10; RotationCount = 600; StochasticFactor = 1; MaxIterations = 3 } } else { @{} }
$runs = [ordered]@{
    Ctf         = @{ Data = 'ctf'; Em = @{} }
    CtfMargin3  = @{ Data = 'ctf'; Em = @{ FilterMargin = 3 } }
    Ctf1Group   = @{ Data = 'ctf'; Em = @{ DefocusGroupTolerance = 20000 } }
    Ctf2Groups  = @{ Data = 'ctf'; Em = @{ DefocusGroupTolerance = 5000 } }
    CtfRewhitened = @{ Data = 'ctf'; Em = @{}; Rewhiten = $true }
    NoCtfModel  = @{ Data = 'ignored'; Em = @{} }
    CtfFreeData = @{ Data = 'free'; Em = @{} }
    Unfiltered  = @{ Data = 'free-raw'; Em = @{} }
}

# At 4 Å/pixel the first two zeros of the CTF (k_n ≈ √(n/(λΔf)), Cs and w aside) lie below Nyquist for Δf ≥ 1 µm.
$lambda = 12.2643247 / [Math]::Sqrt(300e3 * (1 + 0.978466e-6 * 300e3))
$nyquist = 1 / (2 * $fullPixel * $full / $L)
Write-Output ([string]::Format($fmt, 'Pixel size {0} Å after downsampling (Nyquist {1:0.###} 1/Å); second CTF zero at 1 µm: {2:0.###} 1/Å, at 2.5 µm: {3:0.###} 1/Å.',
        $fullPixel * $full / $L, $nyquist, [Math]::Sqrt(2 / ($lambda * 10000)), [Math]::Sqrt(2 / ($lambda * 25000))))

# RMS over the shells (DC aside) of the relative error of an estimated noise spectrum against the one the simulator used.
function Format-Errors([double[]] $errors) { ($errors | ForEach-Object { [string]::Format($fmt, '{0:0.0}', 100 * $_) }) -join ' / ' }

function New-Data([object] $truthFull, [string] $kind) {
    $common = @{ Size = 502; Density = 0.4; Snr = $Snr; Count = 4; Seed = $Seed; DownsampleTo = $L; NoiseSpectrum = 'Falloff' }
    if ($kind -notlike 'free*') { $common += @{ Ctf = $optics; DefocusRange = 10000, 25000 } }
    $micrographs = @(New-Micrograph $truthFull @common)
    # Each micrograph's noise spectrum is estimated once: its error against the simulator's is printed, and it whitens.
    $estimates = @($micrographs | ForEach-Object { Measure-NoiseSpectrum -Micrograph $_ })
    $errors = for ($k = 0; $k -lt $micrographs.Count; $k++) { $estimates[$k].RelativeRmsError($micrographs[$k].NoiseSpectrum) }
    $whitened = if ($kind -eq 'free-raw') { $micrographs }
    else { @(for ($k = 0; $k -lt $micrographs.Count; $k++) { $micrographs[$k] | Edit-Micrograph -Whiten -NoiseSpectrum $estimates[$k] }) }
    if ($kind -eq 'ignored') { foreach ($m in $whitened) { $m.Ctf = $null } }
    [pscustomobject]@{
        Patches   = $whitened | Get-PatchSet -PatchSize $L
        Defocus   = ($micrographs | ForEach-Object { if ($_.Ctf) { [string]::Format($fmt, '{0:0.00}', $_.Ctf.DefocusMean / 1e4) } else { '-' } }) -join ' '
        Whitening = Format-Errors $errors
        Particles = ($micrographs | Measure-Object ParticleCount -Sum).Sum
        Raw       = $micrographs
    }
}

Write-Output ''
Write-Output '| volume | run | defocus (µm) | whitening RMS error % | on the EM''s background % | groups | start | stage 1 / 2 / 3 | result | E-step s | M-step s | total s |'
Write-Output '|---|---|---|---|---|---|---|---|---|---|---|---|'
foreach ($which in $Volume) {
    $truthFull = if ($which -eq 'Phantom') { New-EmVolume -Phantom -Size $full -VoxelSize $fullPixel }
    else { New-EmVolume -AtomicModel $structure -Size $full -VoxelSize $fullPixel }
    $truth = $truthFull | Resize-EmVolume -Size $L
    # The fair start, on the data's scale: Method 1 projects L̃ = 34 voxels deep, the EM's model 17 (values are kept by resizing).
    $start = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size $L
    for ($i = 0; $i -lt $start.Data.Length; $i++) { $start.Data[$i] *= $full / $L }
    $data = @{}
    foreach ($name in $Run) {
        $kind = $runs[$name].Data
        if (-not $data.ContainsKey($kind)) { $data[$kind] = New-Data $truthFull $kind }
        $d = $data[$kind]
        $em = @{ Reference = $truth; Seed = $Seed } + $schedule + $runs[$name].Em
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $verbose = $null
        $patches = $d.Patches
        $result = Invoke-ApproxEm -PatchSet $patches -InitialVolume $start @em -Verbose 4>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.VerboseRecord]) { if ($_.Message -match '(\d+) filter group') { $verbose = $Matches[1] } } else { $_ }
        }
        # The second pass: each micrograph's noise measured again on the patches the EM found empty.
        $refined = @($d.Raw | Measure-NoiseSpectrum -PatchSet $patches -Reconstruction $result)
        $background = Format-Errors @(for ($k = 0; $k -lt $refined.Count; $k++) { $refined[$k].RelativeRmsError($d.Raw[$k].NoiseSpectrum) })
        if ($runs[$name]['Rewhiten']) {
            # ... whitened with the refined spectra, and the EM run again on them (timed as one run).
            $rewhitened = @(for ($k = 0; $k -lt $refined.Count; $k++) { $d.Raw[$k] | Edit-Micrograph -Whiten -NoiseSpectrum $refined[$k] })
            $result = Invoke-ApproxEm -PatchSet ($rewhitened | Get-PatchSet -PatchSize $L) -InitialVolume $start @em
        }
        $seconds = $clock.Elapsed.TotalSeconds
        $rows = $result.History
        $stages = ($rows | Group-Object Stage | ForEach-Object { [string]::Format($fmt, '{0:0.00}', $_.Group[-1].FscShell) }) -join ' / '
        $mstep = ($rows | Measure-Object MStepSeconds -Sum).Sum
        $estep = ($rows | Measure-Object Seconds -Sum).Sum - $mstep
        $crossing = (Measure-Fsc -Reference $truth -Volume $result.Volume).CrossingShell
        Write-Output ([string]::Format($fmt, '| {0} | {1} | {2} | {3} | {4} | {5} | {6:0.00} | {7} | {8:0.00} | {9:0.0} | {10:0.0} | {11:0.0} |',
                $which, $name, $d.Defocus, $d.Whitening, $background, ($verbose ?? '1 (none)'), $rows[0].FscShell, $stages, $crossing, $estep,
                $mstep, $seconds))
    }
}
