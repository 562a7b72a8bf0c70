#requires -Version 7.4
<#
.SYNOPSIS
    The real-data path: raw micrographs with a CTF, read from files, preprocessed and reconstructed as a user with
    real micrographs would, here from a simulation so that the answer is known.
.DESCRIPTION
    Part 1 plays the microscope: the CC0 model examples/5cvz_final.pdb becomes a 1 Å/voxel density, and four raw
    1200 x 1200 micrographs at 1 Å/pixel are simulated with a 300 kV CTF (a defocus per micrograph drawn from 1 to
    2.5 µm, Cs 2.7 mm, amplitude contrast 0.1), detector-like coloured noise (Falloff) and particles dark, as a camera
    sees them. They are written as MRC files, with the micrographs_ctf.star that RELION's CtfFind job would write.
    Part 2 is what a user does with real data, starting only from those files: Import-Micrograph, Set-MicrographCtf
    (the STAR file), Resize-Micrograph to 4.7 Å/pixel (after checking that at least two CTF zeros lie below Nyquist
    for every micrograph), Measure-NoiseSpectrum, Edit-Micrograph -InvertContrast -Normalize -Whiten, Get-PatchSet,
    then Invoke-ApproxEm with σ² estimated, gold-standard half-sets and held-out patches, from a start that is not
    the truth. It reports the half-map resolution (no truth needed) and, since this is a simulation, the FSC against
    the truth. PNG pictures of a micrograph, its Thon rings and the result go to the output folder.
    Seeded: the same numbers every run. About 20 s on 2 cores (23 s measured); the wall time is printed. The raw SNR is
    0.05 on 1 Å pixels, as in real micrographs; downsampling to 4.7 Å raises it about 22-fold per pixel. Measured at the
    default seed: FSC 0.5 against the truth 3.26 (start) -> 6.01 shells (13.3 Å), half-map 0.143 at 6.71 (11.9 Å),
    -FitInitialScale 4.683 against the voxel-size ratio 4.706, σ² 0.989 on whitened data (1 expected); the noise
    spectrum 3.7-5.8 % RMS off the simulator's on the whole micrographs, 1.6-4.3 % measured again on the patches the EM
    found empty (step 9).
    Returns one object with the numbers of the summary table (Defocus, PatchCount, NoiseVariance, HalfMap...,
    Fsc..., Seconds), for scripts and tests.
.PARAMETER OutputDirectory
    Where the MRC, STAR and PNG files go (default: cryoemps-real-micrograph in the system's temporary folder).
.PARAMETER Seed
    Seeds the simulation (micrographs, defocus draws) and the EM.
.EXAMPLE
    dotnet pwsh ./examples/Real-Micrograph.ps1 -OutputDirectory ./out/real-micrograph
#>
[CmdletBinding()]
param(
    [Alias('OutputFolder')]
    [string] $OutputDirectory = (Join-Path ([IO.Path]::GetTempPath()) 'cryoemps-real-micrograph'),
    [int] $Seed = 2026
)
$ErrorActionPreference = 'Stop'
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $modulePath -Force
New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null
$OutputDirectory = (Resolve-Path $OutputDirectory).Path
$clock = [System.Diagnostics.Stopwatch]::StartNew()
$inv = [cultureinfo]::InvariantCulture          # STAR files want '.' decimals whatever the user's culture
function Format-Number([double] $Value, [string] $Format = '0.00') { $Value.ToString($Format, $inv) }

# --- the problem --------------------------------------------------------------------------------
$L = 17                     # patch side at the working pixel size
$fine = 80                  # the molecule's box at 1 Å: the model reaches 37.4 Å from its centre, so 68 would cut 3 atoms
$N = 1200                   # micrograph side at 1 Å; 1200 * 17/80 = 255 = 15 patches of 17
$pixelSize = $fine / $L     # 4.706 Å: the working pixel size, so the 80 Å box is 17 pixels
$schedule = @{ EllMax = 6, 10; RotationCount = 300, 300; StochasticFactor = 1, 0.5; MaxIterations = 3, 3 }

Write-Host 'CryoEmPS: reconstruction from raw micrographs with a CTF (simulated, then read back from files)' -ForegroundColor Cyan
Write-Host "Output folder: $OutputDirectory"

# ================================================================================================
# Part 1: the microscope. A user with real data has the MRC files and RELION's CTF file instead.
# ================================================================================================
$truthFine = New-EmVolume -AtomicModel (Join-Path $PSScriptRoot '5cvz_final.pdb') -Size $fine -VoxelSize 1
$truthFine.Name = '5cvz at 1 Å'
# The optics of every micrograph (300 kV, Cs 2.7 mm, amplitude contrast 0.1); -DefocusRange draws each micrograph's
# defocus (1 to 2.5 µm underfocus, with mild astigmatism) from its own seed.
$optics = New-EmCtf -DefocusU 15000 -Voltage 300 -SphericalAberration 2.7 -AmplitudeContrast 0.1 -PixelSize 1
# SNR 0.05 is eq. (4) on the CTF-filtered projections (their whole energy, the signal the CTF spreads out included), so
# σ² differs between micrographs of different defocus. -InvertContrast: raw micrographs show particles dark.
$raw = New-Micrograph -Volume $truthFine -Size $N -Count 4 -Density 0.35 -Snr 0.05 -Ctf $optics -DefocusRange 10000, 25000 `
    -NoiseSpectrum Falloff -InvertContrast -Seed $Seed -WarningAction SilentlyContinue
Write-Host ("1. Simulated {0} raw micrographs of {1}x{1} at 1 Å/px: {2} particles ({3} asked), SNR {4} (eq. 4, CTF-filtered)" -f `
        $raw.Count, $N, (($raw | Measure-Object ParticleCount -Sum).Sum), (($raw | Measure-Object RequestedParticleCount -Sum).Sum), $raw[0].RequestedSnr)

$rows = for ($i = 0; $i -lt $raw.Count; $i++) {
    $name = 'mic{0:000}.mrc' -f ($i + 1)
    $raw[$i].Name = $name
    $raw[$i] | Export-Micrograph -Path (Join-Path $OutputDirectory $name) -Force
    # RELION writes project-relative names; Set-MicrographCtf matches them to the files by file name.
    $ctf = $raw[$i].Ctf
    "MotionCorr/job002/Movies/$name 1 $(Format-Number $ctf.DefocusU) $(Format-Number $ctf.DefocusV) $(Format-Number $ctf.DefocusAngle)"
}
# A real user gets this file from RELION's CtfFind job (CtfFind/job003/micrographs_ctf.star), or a CTFFIND4 .txt per
# micrograph; here it is written from the simulated CTFs, in RELION 3.1's layout.
$star = Join-Path $OutputDirectory 'micrographs_ctf.star'
@"

# version 30001

data_optics

loop_
_rlnOpticsGroup #1
_rlnOpticsGroupName #2
_rlnVoltage #3
_rlnSphericalAberration #4
_rlnAmplitudeContrast #5
_rlnMicrographPixelSize #6
1 opticsGroup1 $(Format-Number $optics.Voltage '0.0') $(Format-Number $optics.SphericalAberration) $(Format-Number $optics.AmplitudeContrast) $(Format-Number $raw[0].PixelSize '0.000')


# version 30001

data_micrographs

loop_
_rlnMicrographName #1
_rlnOpticsGroup #2
_rlnDefocusU #3
_rlnDefocusV #4
_rlnDefocusAngle #5
$($rows -join "`n")

"@ | Set-Content -LiteralPath $star -Encoding utf8NoBOM
Write-Host "   wrote mic001..mic00$($raw.Count).mrc and micrographs_ctf.star"

# ================================================================================================
# Part 2: what a user does with real micrographs, starting only from the files.
# ================================================================================================
# 2. Import (the pixel size comes from the MRC header) and attach each micrograph's CTF from the STAR file, matched by name.
$mics = Get-ChildItem -LiteralPath $OutputDirectory -Filter 'mic*.mrc' | Sort-Object Name | Import-Micrograph
$mics = $mics | Set-MicrographCtf -Path $star
Write-Host ("2. Imported {0} micrographs at {1} Å/px and attached their CTFs from micrographs_ctf.star" -f $mics.Count, $mics[0].PixelSize)

# 3. Downsample. The CTF must still be learnable at the new pixel size: ask for at least two of its zeros below Nyquist
#    in every direction of every micrograph (zero n lies near k_n = sqrt(n/(λ Δf)), so the smallest defocus decides).
$nyquist = 1 / (2 * $pixelSize)
Write-Host ("3. Downsampling to {0:0.000} Å/px (Nyquist {1:0.0000} 1/Å = {2:0.0} Å); CTF zeros below Nyquist:" -f $pixelSize, $nyquist, (1 / $nyquist))
foreach ($m in $mics) {
    # the 2nd zero is farthest out along the smaller defocus; check every direction in steps of 5°
    $second = (0..35 | ForEach-Object { $m.Ctf.Zeros(2, 5 * $_)[1] } | Measure-Object -Maximum).Maximum
    $count = @($m.Ctf.Zeros(20, $m.Ctf.DefocusAngle + 90) | Where-Object { $_ -lt $nyquist }).Count
    $estimate = [math]::Sqrt(2 / ($m.Ctf.Wavelength * [math]::Min($m.Ctf.DefocusU, $m.Ctf.DefocusV)))
    Write-Host ("   {0}: defocus {1:0} / {2:0} Å, 2nd zero at most {3:0.0000} 1/Å (sqrt(2/λΔf) = {4:0.0000}), {5} zeros below Nyquist on the minor axis" -f `
            $m.Name, $m.Ctf.DefocusU, $m.Ctf.DefocusV, $second, $estimate, $count)
    if ($second -ge $nyquist) { throw "$($m.Name): fewer than two CTF zeros below Nyquist at $pixelSize Å/px; choose a smaller pixel size." }
}
$small = $mics | Resize-Micrograph -PixelSize $pixelSize

# 4. Preprocess: measure the noise spectrum (the median over 16x16 tiles, which fit between particles), then turn the
#    particles white (RELION's CTF sign, CryoEmPS's convention), normalise (σ 1; the 1/σ is kept as SignalScale) and
#    whiten (white noise; the spectrum divided by is kept as Whitening). The EM's filter for each micrograph is then
#    SignalScale x CTF/sqrt(Whitening), so the reconstruction comes out in the units of the raw micrographs.
$measured = @($small | Measure-NoiseSpectrum -PassThru)
$prepared = $measured | Edit-Micrograph -InvertContrast -Normalize -Whiten
Write-Host ("4. Preprocessed: {0}x{0} at {1:0.000} Å/px; steps: {2}" -f $prepared[0].SizeX, $prepared[0].PixelSize, (($prepared[0].Steps | ForEach-Object ToString) -join ' | '))
# Check the CTF by eye: the Thon rings of the micrograph before whitening, beside CTF² (at 1 Å/px the model's rings are
# finer than a 256-pixel tile samples, so the downsampled micrograph gives the readable picture). The rings are faint
# here: the simulator adds all its noise after the CTF, so only the sparse particles ring; on real data the ice does too.
$small[0] | Export-EmPicture -PowerSpectrum -Size 64 -Path (Join-Path $OutputDirectory 'spectrum.png') -Force
$prepared[0] | Export-EmPicture -Path (Join-Path $OutputDirectory 'micrograph.png') -Zoom 3 -Force

# 5. Patches: the data of the EM.
$patches = $prepared | Get-PatchSet -PatchSize $L
Write-Host ("5. Patches: {0} of {1}x{1}" -f $patches.Count, $L)

# 6. The truth at the working pixel size (for the simulation's FSC only) and a start that is not the truth: the truth
#    low-passed to 5³, as it comes, in its own units. Those are not the data's: the micrographs hold line integrals through
#    the 1 Å density (80 voxels deep), Resize-Micrograph and Resize-EmVolume keep values, and a projection of the 4.7 Å
#    volume sums only 17 voxels, so the start's projections are 80/17 = 4.7x too weak. With real data nobody knows the
#    factor, so -FitInitialScale below finds it from the data (the most likely amplitude); here we can check it.
$truth = $truthFine | Resize-EmVolume -Size $L
$truth.Name = 'truth at 4.7 Å'
$start = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size $L
$start.Name = 'start (truth low-passed to 5³)'
$factor = $truth.VoxelSize / $truthFine.VoxelSize
$fsc0 = Measure-Fsc -Reference $truth -Volume $start
Write-Host ("6. Start vs truth: FSC 0.5 at shell {0:0.00} of {1} ({2:0.0} Å); its projections are {3:0.000}x too weak (the voxel-size ratio)" -f `
        $fsc0.CrossingShell, [int][math]::Floor($L / 2), $fsc0.ResolutionAngstrom, $factor)

# 7. The approximate EM. σ² is not given: it is estimated. -HalfSet splits by micrograph (two each), so the half maps
#    share no particle; -HeldOutFraction keeps 5 % of the patches out of every M-step to pick the map returned.
#    -FilterMargin 0 (the default) keeps each filtered projection in its 17x17 box; -Reference only adds the FSC
#    against the truth to the History and never steers the run.
Write-Host ("7. Invoke-ApproxEm: lmax {0}, K {1}, S {2}, iterations {3}" -f ($schedule.EllMax -join '/'), ($schedule.RotationCount -join '/'),
    ($schedule.StochasticFactor -join '/'), ($schedule.MaxIterations -join '/'))
$result = $patches | Invoke-ApproxEm -InitialVolume $start @schedule -FitInitialScale -HalfSet -HeldOutFraction 0.05 -Prior Gaussian `
    -Reference $truth -Seed $Seed
Write-Host ("   -FitInitialScale multiplied the start by {0:0.000} (the voxel-size ratio is {1:0.000})" -f $result.InitialScale, $factor)
$result.History | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

# 8. The result: the half-map FSC at 0.143 needs no truth; the FSC against the truth at 0.5 is the simulation's bonus.
$fsc = $result | Measure-Fsc -Reference $truth
$halfFsc = Measure-Fsc -HalfVolume $result.HalfVolume -Threshold 0.143
$result.Volume | Export-EmVolume -Path (Join-Path $OutputDirectory 'estimate.mrc') -Force
$truth | Export-EmVolume -Path (Join-Path $OutputDirectory 'truth.mrc') -Force
$result | Export-EmPicture -Path (Join-Path $OutputDirectory 'estimate.png') -Force
$truth | Export-EmPicture -Path (Join-Path $OutputDirectory 'truth.png') -Force
$result | Export-EmPicture -History -Path (Join-Path $OutputDirectory 'history.png') -Force
$fsc0, $fsc, $halfFsc | Export-EmPicture -Label 'start vs truth', 'estimate vs truth', 'half map vs half map' `
    -Path (Join-Path $OutputDirectory 'fsc.png') -Force
# 9. Refine the noise spectrum. Step 4's came from every tile of each micrograph, particles included; the EM knows
#    where they are ($result.PatchEmptyProbability, each patch's posterior of holding none), so measure again only on the
#    patches it found empty. To use it, whiten with it (Edit-Micrograph -Whiten -NoiseSpectrum) and reconstruct again.
#    Here the simulator's own spectrum is known (the raw micrographs', carried to the working pixel size), so both
#    estimates can be checked: RMS over the shells of the relative error.
$refined = @($small | Measure-NoiseSpectrum -PatchSet $patches -Reconstruction $result)
$first = @($measured | ForEach-Object NoiseSpectrum)   # step 4's estimates
$actual = @($raw | Resize-Micrograph -PixelSize $pixelSize | ForEach-Object NoiseSpectrum)
$firstError = @(for ($i = 0; $i -lt $mics.Count; $i++) { 100 * $first[$i].RelativeRmsError($actual[$i]) })
$refinedError = @(for ($i = 0; $i -lt $mics.Count; $i++) { 100 * $refined[$i].RelativeRmsError($actual[$i]) })
Write-Host ("9. Noise spectrum against the simulator's, RMS error %: whole micrographs {0}; on the patches the EM found empty {1}" -f `
        (($firstError | ForEach-Object { $_.ToString('0.0', $inv) }) -join ' / '), (($refinedError | ForEach-Object { $_.ToString('0.0', $inv) }) -join ' / '))
$seconds = $clock.Elapsed.TotalSeconds

$summary = [pscustomobject]@{
    Micrograph        = $mics.Name
    DefocusU          = $mics | ForEach-Object { $_.Ctf.DefocusU }
    DefocusV          = $mics | ForEach-Object { $_.Ctf.DefocusV }
    ParticleCount     = $raw.ParticleCount
    PixelSize         = $pixelSize
    PatchCount        = $patches.Count
    NoiseVariance     = $result.NoiseVariance
    InitialScale      = $result.InitialScale
    VoxelSizeRatio    = $factor
    HalfMapFscShell   = $result.HalfMapFscShell
    HalfMapAngstrom   = $result.HalfMapResolutionAngstrom
    HalfMapCurveShell = $halfFsc.CrossingShell
    StartFscShell     = $fsc0.CrossingShell
    FscShell          = $fsc.CrossingShell
    FscAngstrom       = $fsc.ResolutionAngstrom
    NoiseSpectrumErrorPercent           = $firstError
    BackgroundNoiseSpectrumErrorPercent = $refinedError
    Seconds           = $seconds
}
Write-Host 'Summary' -ForegroundColor Cyan
for ($i = 0; $i -lt $mics.Count; $i++) {
    Write-Host ("   {0}: defocus U/V {1,7:0} / {2,7:0} Å, angle {3,6:0.0}°, {4} particles, {5} patches" -f $mics[$i].Name, $mics[$i].Ctf.DefocusU,
        $mics[$i].Ctf.DefocusV, $mics[$i].Ctf.DefocusAngle, $raw[$i].ParticleCount, @($patches.Origins | Where-Object { $_.Micrograph -eq $i }).Count)
}
Write-Host ("   patches {0} of {1}x{1} at {2:0.000} Å/px; σ² estimated {3:g4} (whitened data: 1 expected)" -f $patches.Count, $L, $pixelSize, $result.NoiseVariance)
Write-Host ("   half maps: FSC 0.143 at shell {0:0.00} of {1} = {2:0.0} Å (returned map; whole-curve crossing of the returned halves {3:0.00})" -f `
        $result.HalfMapFscShell, [int][math]::Floor($L / 2), $result.HalfMapResolutionAngstrom, $halfFsc.CrossingShell)
Write-Host ("   vs truth: FSC 0.5 at shell {0:0.00} = {1:0.0} Å (start {2:0.00} = {3:0.0} Å)" -f $fsc.CrossingShell, $fsc.ResolutionAngstrom,
    $fsc0.CrossingShell, $fsc0.ResolutionAngstrom)
Write-Host ("   files: {0}" -f ((Get-ChildItem $OutputDirectory -File | ForEach-Object Name) -join ', '))
Write-Host ("Done in {0:0.0} s." -f $seconds) -ForegroundColor Cyan
$summary
