#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark of Invoke-ApproxEm (issue 5): seconds per iteration, wall time, peak memory, pairs per second,
    linear cost in the micrograph area, and thread-count determinism.
.DESCRIPTION
    Generates the paper's problem on the fly, seeded: the built-in phantom at L = 17, a Method 2 micrograph of
    N = 1003 pixels (59² = 3,481 patches) holding as many well-separated particles as fit at γ = 0.4, SNR 1, and
    a low-passed truth (17 → 7 → 17) as the initial volume.
      Quick (default): the EM issue's two configurations, each as its own run — ℓmax 6, K = 3392, S = 1 and
        ℓmax 14, K = 1376, S = 0.25, one EM iteration each.
      Paper: the paper's schedule — ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10 iterations.
    Every run is then repeated on a micrograph of twice the area (N = 1428, 84² = 7,056 patches = 2.03×) to show
    the cost is linear, and a short two-stage run (ℓmax 6 → 14, K 600/300, S 1/0.5, one iteration each) on the
    N = 1003 patches is done with -ThrottleLimit 1 and 2 and the coefficients compared bit for bit.
    Each run is a child PowerShell, so its peak working set is its own. Prints numbers; asserts nothing except
    the determinism check (exit code 3 when the coefficients differ).
.PARAMETER Protocol
    Quick or Paper (see the description).
.PARAMETER ThrottleLimit
    Threads for the timed runs (default: all processors).
.PARAMETER PosteriorCutoff
    Passed to Invoke-ApproxEm (default 0: the exact path).
.PARAMETER SkipDoubleArea
    Do not repeat the runs on the micrograph of twice the area.
.PARAMETER SkipDeterminism
    Do not run the 1-thread/2-thread comparison.
.PARAMETER Seed
    The seed of the micrograph and of the EM.
.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -Protocol Paper
.EXAMPLE
    $env:CRYOEMPS_MODULE = './out/CryoEmPS/CryoEmPS.psd1'; ./benchmarks/Invoke-Benchmark.ps1 -Protocol Quick -SkipDoubleArea
#>
[CmdletBinding()]
param(
    [ValidateSet('Quick', 'Paper')]
    [string] $Protocol = 'Quick',
    [ValidateRange(1, 1024)]
    [int] $ThrottleLimit = [Environment]::ProcessorCount,
    [ValidateRange(0.0, 1.0)]
    [double] $PosteriorCutoff = 0,
    [ValidateSet('Auto', 'Double', 'Single')]
    [string] $Precision = 'Auto',
    [switch] $SkipDoubleArea,
    [switch] $SkipDeterminism,
    [int] $Seed = 2026,
    # Internal: run one configuration (JSON) in this process and print one JSON result line.
    [string] $Worker
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
$L = 17

if ($Worker) {
    # ---- one run, in a fresh process --------------------------------------------------------------------
    $cfg = $Worker | ConvertFrom-Json
    Import-Module $modulePath -Force
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $truth = New-EmVolume -Phantom -Size $L
    $mic = New-Micrograph -Volume $truth -Size $cfg.Size -Density 0.4 -Snr 1 -Spacing WellSeparated -Seed $cfg.Seed -WarningAction SilentlyContinue
    $patches = $mic | Get-PatchSet -PatchSize $L
    # The start: the truth Fourier-cropped to StartSize³ (7: the published benchmark; 5: the fair start of the quality issue).
    $startSize = if ($cfg.PSObject.Properties['StartSize']) { $cfg.StartSize } else { 7 }
    $initial = $truth | Resize-EmVolume -Size $startSize | Resize-EmVolume -Size $L
    # Options beyond the schedule: none = the paper's M-step and prior with σ² given; else Invoke-ApproxEm parameters by name.
    $options = @{ MStep = 'Minibatch'; Prior = 'None'; NoiseVariance = $mic.NoiseVariance }
    if ($cfg.PSObject.Properties['Options']) {
        $options = @{}
        foreach ($p in $cfg.Options.PSObject.Properties) { $options[$p.Name] = $p.Value }
    }
    $setup = $clock.Elapsed.TotalSeconds
    $n = @($cfg.EllMax).Count
    $clock.Restart()
    $result = $patches | Invoke-ApproxEm -InitialVolume $initial -EllMax $cfg.EllMax -RotationCount $cfg.RotationCount `
        -StochasticFactor $cfg.StochasticFactor -MaxIterations $cfg.MaxIterations -Tolerance (@([double]::NegativeInfinity) * $n) `
        -Seed $cfg.Seed -ThrottleLimit $cfg.ThrottleLimit -PosteriorCutoff $cfg.PosteriorCutoff -Precision $cfg.Precision -Reference $truth @options
    $wall = $clock.Elapsed.TotalSeconds
    $stages = foreach ($g in $result.History | Group-Object Stage) {
        $rows = @($g.Group)
        $iter = @($rows | Where-Object Iteration -ge 1)
        [pscustomobject]@{
            Stage = [int]$g.Name; EllMax = $rows[0].EllMax; K = $rows[0].RotationCount; S = $rows[0].StochasticFactor
            Iterations = $iter.Count; PatchesPerEStep = $rows[0].PatchCount
            SecondsPerIteration = if ($iter.Count) { ($iter | Measure-Object Seconds -Sum).Sum / $iter.Count } else { [double]::NaN }
            FirstEStepSeconds = $rows[0].Seconds
            MStepSeconds = if ($iter.Count) { ($iter | Measure-Object MStepSeconds -Sum).Sum / $iter.Count } else { [double]::NaN }
            Precision = (@($rows | ForEach-Object { "$($_.Precision)" } | Sort-Object -Unique) -join '+')
            Pairs = [double](($rows | ForEach-Object { [double]$_.PatchCount * $_.RotationCount } | Measure-Object -Sum).Sum)
            Seconds = ($rows | Measure-Object Seconds -Sum).Sum
            LogLikelihoodPerPatch = $rows[-1].LogLikelihoodPerPatch; FscShell = $rows[-1].FscShell
            BestFscShell = ($rows | Measure-Object FscShell -Maximum).Maximum; HalfMapShell = $rows[-1].HalfMapFscShell
            # The map the stage handed on (or returned): the best by the truth-free criterion so far, else its last row.
            HandedOnFscShell = $result.History[$result.StageResultRows[[int]$g.Name - 1]].FscShell
            EstimatedShell = $result.History[$result.StageResultRows[[int]$g.Name - 1]].EstimatedFscShell
            SkippedFraction = ($rows | Measure-Object SkippedFraction -Maximum).Maximum
        }
    }
    $coef = $result.FourierBesselVolume.Coefficients
    $bytes = [byte[]]::new($coef.Length * 8); [Buffer]::BlockCopy($coef, 0, $bytes, 0, $bytes.Length)
    $hash = [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes))
    [pscustomobject]@{
        Name = $cfg.Name; Size = $cfg.Size; Patches = $patches.Count; Particles = $mic.ParticleCount; ThrottleLimit = $cfg.ThrottleLimit
        SetupSeconds = $setup; WallSeconds = $wall; PeakWorkingSetBytes = [System.Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64
        Stages = @($stages); CoefficientSha256 = $hash; StartFscShell = $result.InitialFscShell; FinalFscShell = $result.FinalFscShell
        ResultHalfMapShell = $result.HalfMapFscShell; ResultEstimatedShell = $result.EstimatedFscShell; StagesRun = $result.StagesRun; ScheduledStages = @($cfg.EllMax).Count; TrueNoiseVariance = $mic.NoiseVariance; NoiseVariance = $result.NoiseVariance
        NoiseVarianceEstimated = $result.NoiseVarianceEstimated; BestRow = "$($result.BestIteration)"; RegisterBits = [CryoEmPS.Core.Reconstruction.EStep]::Registers.Bits
    } | ConvertTo-Json -Depth 5 -Compress | Write-Output
    return
}

# ---- the driver ------------------------------------------------------------------------------------------
function Get-ChildPwsh {
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}

function Invoke-Run([hashtable] $Config) {
    $cmd = Get-ChildPwsh
    $json = $Config | ConvertTo-Json -Compress -Depth 3
    $rest = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $PSCommandPath, '-Worker', $json)
    $env:CRYOEMPS_MODULE = $modulePath
    $lines = & $cmd[0] @rest
    if ($LASTEXITCODE -ne 0) { throw "Benchmark run '$($Config.Name)' failed (exit code $LASTEXITCODE)." }
    $last = @($lines | Where-Object { $_ -is [string] -and $_.StartsWith('{') })[-1]
    return $last | ConvertFrom-Json
}

function Write-Run($r) {
    $pairs = ($r.Stages | Measure-Object Pairs -Sum).Sum
    Write-Host ("{0}: N = {1} ({2} patches, {3} particles), {4} threads, E-step on {5}-bit registers" -f $r.Name, $r.Size, $r.Patches, $r.Particles, $r.ThrottleLimit, $r.RegisterBits) -ForegroundColor Cyan
    $r.Stages | Format-Table Stage, EllMax, K, S, Iterations, PatchesPerEStep,
    @{ n = 's/iteration'; e = { '{0:0.0}' -f $_.SecondsPerIteration } }, @{ n = 'first E-step s'; e = { '{0:0.0}' -f $_.FirstEStepSeconds } }, @{ n = 'M-step s'; e = { '{0:0.00}' -f $_.MStepSeconds } }, Precision,
    @{ n = 'pairs/s'; e = { '{0:0.000e0}' -f ($_.Pairs / $_.Seconds) } }, @{ n = 'LL/patch'; e = { '{0:0.###}' -f $_.LogLikelihoodPerPatch } },
    @{ n = 'FSC shell'; e = { '{0:0.00}' -f $_.FscShell } }, @{ n = 'best FSC'; e = { '{0:0.00}' -f $_.BestFscShell } },
    @{ n = 'half-map'; e = { '{0:0.00}' -f $_.HalfMapShell } }, @{ n = 'handed on'; e = { '{0:0.00}' -f $_.HandedOnFscShell } },
    @{ n = 'estimate'; e = { '{0:0.00}' -f $_.EstimatedShell } }, @{ n = 'skipped'; e = { '{0:P1}' -f $_.SkippedFraction } } -AutoSize | Out-String -Width 220 | Write-Host
    Write-Host ("  FSC 0.5 crossing: start {0:0.00} → result {1:0.00}; half-map 0.143 crossing of the result {2:0.00}; σ² {3} {4:g6} vs added {5:g6} ({6:+0.00;-0.00} %)" -f `
            $r.StartFscShell, $r.FinalFscShell, $r.ResultHalfMapShell, $(if ($r.NoiseVarianceEstimated) { 'estimated' } else { 'given' }), $r.NoiseVariance,
            $r.TrueNoiseVariance, (100 * ($r.NoiseVariance / $r.TrueNoiseVariance - 1)))
    Write-Host ("  returned: {0}; truth-free estimate of its FSC 0.5 crossing {1:0.00}; {2} of {3} stages ran" -f $r.BestRow, $r.ResultEstimatedShell,
        $r.StagesRun, $r.ScheduledStages)
    Write-Host ("  total EM wall time {0:0.0} s (setup {1:0.0} s), peak working set {2:0.00} GB, {3:0.000e0} patch-rotation pairs/s" -f `
            $r.WallSeconds, $r.SetupSeconds, ($r.PeakWorkingSetBytes / 1GB), ($pairs / $r.WallSeconds))
}

$configs = if ($Protocol -eq 'Paper') {
    @{ Name = 'Paper schedule'; EllMax = @(6, 10, 14); RotationCount = @(3392, 3392, 1376); StochasticFactor = @(1, 0.5, 0.25); MaxIterations = @(5, 5, 10) },
    @{ Name = 'Paper schedule, quality options (fair start 5³, σ² estimated, incremental EM, half-sets, 5 % held out, prior T = 4)'
        EllMax = @(6, 10, 14); RotationCount = @(3392, 3392, 1376); StochasticFactor = @(1, 0.5, 0.25); MaxIterations = @(5, 5, 10); StartSize = 5
        Options = @{ MStep = 'Incremental'; HalfSet = $true; HeldOutFraction = 0.05; Prior = 'Gaussian' } }
}
else {
    @{ Name = 'Quick: lmax 6, K 3392, S 1'; EllMax = @(6); RotationCount = @(3392); StochasticFactor = @(1); MaxIterations = @(1) },
    @{ Name = 'Quick: lmax 14, K 1376, S 0.25'; EllMax = @(14); RotationCount = @(1376); StochasticFactor = @(0.25); MaxIterations = @(1) }
}

Write-Host "Invoke-ApproxEm benchmark, protocol $Protocol, $([Environment]::ProcessorCount) processors, -ThrottleLimit $ThrottleLimit, -PosteriorCutoff $PosteriorCutoff, -Precision $Precision" -ForegroundColor Cyan
$total = [System.Diagnostics.Stopwatch]::StartNew()
$results = @()
foreach ($c in $configs) {
    $base = $c + @{ Size = 1003; Seed = $Seed; ThrottleLimit = $ThrottleLimit; PosteriorCutoff = $PosteriorCutoff; Precision = $Precision }
    $r1 = Invoke-Run $base
    Write-Run $r1
    $results += $r1
    if (-not $SkipDoubleArea -and $results.Count -eq 1) {
        $big = $base.Clone(); $big.Size = 1428; $big.Name = $c.Name + ' (twice the area)'
        $r2 = Invoke-Run $big
        Write-Run $r2
        $ratio = $r2.WallSeconds / $r1.WallSeconds
        Write-Host ("  twice the area: {0:0.000}× the patches, {1:0.000}× the EM wall time ({2:0.000}× per patch; target ≤ 2.1×)" -f `
                ($r2.Patches / $r1.Patches), $ratio, ($ratio / ($r2.Patches / $r1.Patches))) -ForegroundColor Yellow
    }
    if ($results.Count -eq 2) {
        Write-Host ("  cost of the quality options against the published options, same run: {0:0.0} s / {1:0.0} s = {2:0.00}× (target ≤ 1.25×)" -f `
                $results[1].WallSeconds, $results[0].WallSeconds, ($results[1].WallSeconds / $results[0].WallSeconds)) -ForegroundColor Yellow
    }
}

if (-not $SkipDeterminism) {
    $det = @{ Name = 'determinism'; EllMax = @(6, 14); RotationCount = @(600, 300); StochasticFactor = @(1, 0.5); MaxIterations = @(1, 1); Size = 1003; Seed = $Seed; PosteriorCutoff = $PosteriorCutoff; Precision = $Precision }
    $one = $det.Clone(); $one.ThrottleLimit = 1; $d1 = Invoke-Run $one
    $two = $det.Clone(); $two.ThrottleLimit = 2; $d2 = Invoke-Run $two
    $same = $d1.CoefficientSha256 -eq $d2.CoefficientSha256
    Write-Host ("Determinism (lmax 6 → 14, K 600/300, S 1/0.5, one iteration each): -ThrottleLimit 1 {0:0.0} s, 2 {1:0.0} s; coefficients SHA-256 {2} vs {3}: {4}" -f `
            $d1.WallSeconds, $d2.WallSeconds, $d1.CoefficientSha256.Substring(0, 16), $d2.CoefficientSha256.Substring(0, 16), $(if ($same) { 'bit-identical' } else { 'DIFFERENT' })) -ForegroundColor $(if ($same) { 'Green' } else { 'Red' })
    if (-not $same) { exit 3 }
}
Write-Host ("Benchmark done in {0:0.0} min." -f $total.Elapsed.TotalMinutes) -ForegroundColor Cyan
