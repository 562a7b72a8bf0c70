#requires -Version 7.4
<#
.SYNOPSIS
    Issue 13's numbers: the paper protocol under mpirun -np P (1 thread per rank) against one process with P threads — wall
    time, coefficient agreement, and per iteration each rank's E-step seconds, the bytes it moved and its time in the sums.
.DESCRIPTION
    The problem is Invoke-Benchmark.ps1's (the phantom at L = 17, a 1003² Method 2 micrograph at γ = 0.4 well separated, SNR 1,
    the truth cropped to 7³ as the start, the published options: minibatch M-step, no prior, σ² given). -Protocol Paper runs the
    paper's schedule (ℓmax 6/10/14, K 3392/3392/1376, S 1/0.5/0.25, 5/5/10 iterations); Short runs ℓmax 6/14, K 600/300,
    S 1/0.5, 2 iterations each. Each run is a fresh process (or P of them): the same worker script, which every rank runs; each
    rank writes its own JSON (coefficients, history). Prints numbers; asserts nothing. Needs mpirun (openmpi-bin).
.PARAMETER Ranks
    P, the number of MPI ranks (default 2); the one-process run uses P threads.
.PARAMETER Precision
    Invoke-ApproxEm -Precision. Auto (the default) runs the paper protocol's E-steps in single precision, whose float sums of the
    statistics are grouped differently when split over ranks (agreement about 1e-7); Double agrees to rounding in double.
.EXAMPLE
    dotnet pwsh ./benchmarks/Measure-Mpi.ps1 -Protocol Paper -Ranks 2
#>
[CmdletBinding()]
param(
    [ValidateSet('Paper', 'Short')]
    [string] $Protocol = 'Short',
    [ValidateRange(2, 1024)]
    [int] $Ranks = 2,
    [ValidateSet('Auto', 'Double', 'Single')]
    [string] $Precision = 'Auto',
    [int] $Seed = 2026,
    # Internal: the worker (every rank runs it): writes rank<r>.json into this folder.
    [string] $Worker,
    [int] $Threads = 1
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$modulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../out/CryoEmPS/CryoEmPS.psd1' }
$fmt = [System.Globalization.CultureInfo]::InvariantCulture

if ($Worker) {
    Import-Module $modulePath -Force
    $ProgressPreference = 'SilentlyContinue'
    $L = 17
    $truth = New-EmVolume -Phantom -Size $L
    $mic = New-Micrograph -Volume $truth -Size 1003 -Density 0.4 -Snr 1 -Spacing WellSeparated -Seed $Seed -WarningAction SilentlyContinue
    $patches = $mic | Get-PatchSet -PatchSize $L
    $initial = $truth | Resize-EmVolume -Size 7 | Resize-EmVolume -Size $L
    $schedule = if ($Protocol -eq 'Paper') { @{} }
    else { @{ EllMax = 6, 14; RotationCount = 600, 300; StochasticFactor = 1, 0.5; MaxIterations = 2, 2 } }
    $me = Get-EmMpiRank
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $result = Invoke-ApproxEm -PatchSet $patches -InitialVolume $initial -Seed $Seed -ThrottleLimit $Threads -MStep Minibatch -Prior None `
        -NoiseVariance $mic.NoiseVariance -Tolerance ([double]::NegativeInfinity) -Precision $Precision @schedule
    $wall = $clock.Elapsed.TotalSeconds
    [pscustomobject]@{
        Rank = $me.Rank; Size = $me.Size; Wall = $wall
        X = @($result.FourierBesselVolume.Coefficients | ForEach-Object { $_.ToString('R', $fmt) })
        Rows = @($result.History | ForEach-Object {
                [pscustomobject]@{ Stage = $_.Stage; Iteration = $_.Iteration; Patches = $_.PatchCount; Seconds = $_.Seconds
                    MStep = $_.MStepSeconds; Comm = $_.CommunicationSeconds; Bytes = $_.CommunicatedBytes }
            })
    } | ConvertTo-Json -Depth 4 -Compress | Set-Content (Join-Path $Worker "rank$($me.Rank).json")
    return
}

if (-not (Get-Command mpirun -ErrorAction SilentlyContinue)) { throw 'mpirun is not installed: apt-get install openmpi-bin libopenmpi-dev' }
# A child PowerShell like this one: pwsh, or dotnet + pwsh.dll when PowerShell runs as the dotnet tool.
$exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
$pwsh = @($exe) + @(if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
$env:CRYOEMPS_MODULE = (Resolve-Path $modulePath).Path
$root = Join-Path ([IO.Path]::GetTempPath()) ('cryoemps-mpi-' + [guid]::NewGuid().ToString('N'))
$alone = New-Item -ItemType Directory -Path (Join-Path $root 'alone')
$spread = New-Item -ItemType Directory -Path (Join-Path $root 'mpi')
$common = @('-NoProfile', '-File', $PSCommandPath, '-Protocol', $Protocol, '-Seed', $Seed, '-Precision', $Precision)
$rest = @($pwsh | Select-Object -Skip 1)
& $pwsh[0] @rest @common -Worker $alone.FullName -Threads $Ranks
if ($LASTEXITCODE) { throw "the one-process run failed ($LASTEXITCODE)" }
& mpirun --allow-run-as-root --oversubscribe -np $Ranks @pwsh @common -Worker $spread.FullName -Threads 1
if ($LASTEXITCODE) { throw "the $Ranks-rank run failed ($LASTEXITCODE)" }

function Read-Run([string] $Path) {
    $run = Get-Content $Path -Raw | ConvertFrom-Json
    $run.X = [double[]]@($run.X | ForEach-Object { [double]::Parse($_, $fmt) })
    $run
}
$one = Read-Run (Join-Path $alone 'rank0.json')
$ranksRuns = @(0..($Ranks - 1) | ForEach-Object { Read-Run (Join-Path $spread "rank$_.json") })
$d = 0.0; $n = 0.0; $maxAbs = 0.0
for ($i = 0; $i -lt $one.X.Length; $i++) {
    $e = $ranksRuns[0].X[$i] - $one.X[$i]; $d += $e * $e; $n += $one.X[$i] * $one.X[$i]; $maxAbs = [Math]::Max($maxAbs, [Math]::Abs($e))
}
$identical = @($ranksRuns | Where-Object { -not [System.Linq.Enumerable]::SequenceEqual($_.X, $ranksRuns[0].X) }).Count -eq 0
Write-Output ([string]::Format($fmt, 'Protocol {0}, precision '+$Precision+': one process, {1} threads: {2:0.0} s; mpirun -np {1}, 1 thread each: {3:0.0} s (rank 0) = {4:0.000}×.',
        $Protocol, $Ranks, $one.Wall, $ranksRuns[0].Wall, $ranksRuns[0].Wall / $one.Wall))
Write-Output ([string]::Format($fmt, 'Coefficients ({0}): relative difference {1:g3}, largest {2:g3}; the ranks hold the same bits: {3}.',
        $one.X.Length, [Math]::Sqrt($d / $n), $maxAbs, $identical))
Write-Output ''
$header = '| stage | iteration | patches | one process s | ' + ((0..($Ranks - 1) | ForEach-Object { "rank $_ E-step s" }) -join ' | ') +
    ' | M-step s | MiB moved (rank 0) | in sums s (rank 0) |'
Write-Output $header
Write-Output ('|' + ('---|' * ($header.Split('|').Count - 2)))
for ($i = 0; $i -lt $one.Rows.Count; $i++) {
    $row = $one.Rows[$i]
    $estep = ($ranksRuns | ForEach-Object { [string]::Format($fmt, '{0:0.00}', $_.Rows[$i].Seconds - $_.Rows[$i].MStep) }) -join ' | '
    $r0 = $ranksRuns[0].Rows[$i]
    Write-Output ([string]::Format($fmt, '| {0} | {1} | {2} | {3:0.00} | {4} | {5:0.00} | {6:0.00} | {7:0.000} |', $row.Stage, $row.Iteration,
            $row.Patches, $row.Seconds, $estep, $r0.MStep, $r0.Bytes / 1MB, $r0.Comm))
}
Remove-Item -Recurse -Force $root
