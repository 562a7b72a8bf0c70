#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks CryoEmPS.
.DESCRIPTION
    Tasks (each exits non-zero on failure):
      Bootstrap  restore the dotnet tools (PowerShell 7.6.9) and Pester; check (and as root install) libfftw3 and libopenblas
      Build      lay out out/CryoEmPS/, an importable module folder
      Test       xunit (Core) then Pester (cmdlets); ends with one line 'N passed, N failed'
      Demo       run examples/Demo.ps1 against the built module
      Bench      run the benchmark scripts in benchmarks/
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Bootstrap', 'Build', 'Test', 'Demo', 'Bench')]
    [string] $Task = 'Build',

    # Configuration for dotnet build.
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Test: also run the tests tagged Expensive.
    [switch] $Expensive,

    # Bench: which protocol to run (Quick = the EM issue's two configurations, Paper = the full paper protocol).
    [ValidateSet('Quick', 'Paper')]
    [string] $Protocol = 'Quick'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'CryoEmPS'
$PesterVersion = '5.7.1'
$PesterModule = Join-Path $Out "packages/pester/$PesterVersion/tools/Pester.psd1"

function Invoke-Native {
    param([string] $What, [scriptblock] $Command)
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE." }
}

# The command line that starts a child PowerShell like this one (pwsh, or dotnet + pwsh.dll for the dotnet tool).
function Get-ChildPwsh {
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}

function Invoke-ChildPwsh([string[]] $Arguments) {
    $cmd = Get-ChildPwsh
    $rest = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $Arguments
    & $cmd[0] @rest
}

function Test-NativeLibrary([string] $SoName) {
    $found = & ldconfig -p 2>$null | Select-String -SimpleMatch $SoName
    return [bool]$found
}

function Invoke-Bootstrap {
    Write-Host '== Bootstrap'
    Push-Location $Root
    try {
        Invoke-Native 'dotnet tool restore' { dotnet tool restore }
        if (-not (Test-Path $PesterModule)) {
            Invoke-Native 'Pester restore' { dotnet restore (Join-Path $Root 'build/Pester.proj') --packages (Join-Path $Out 'packages') }
        }
        if (-not (Test-Path $PesterModule)) { throw "Pester $PesterVersion was restored but $PesterModule is missing." }
        Write-Host "Pester $PesterVersion : $PesterModule"
    }
    finally { Pop-Location }

    $missing = @()
    if (-not (Test-NativeLibrary 'libfftw3.so.3')) { $missing += 'libfftw3-double3' }
    if (-not (Test-NativeLibrary 'libopenblas.so.0')) { $missing += 'libopenblas0-pthread' }
    if ($missing) {
        $isRoot = (& id -u) -eq '0'
        if ($isRoot) {
            Write-Host "Installing $($missing -join ', ') with apt-get"
            Invoke-Native 'apt-get update' { apt-get update -qq }
            Invoke-Native 'apt-get install' { apt-get install -y -qq @missing }
        }
        else {
            throw "Missing native libraries. Install them with: sudo apt-get install -y $($missing -join ' ')"
        }
    }
    Write-Host 'Native libraries: libfftw3.so.3 and libopenblas.so.0 found.'

    # OpenMPI is optional: Invoke-ApproxEm spreads itself over the ranks of mpirun/srun, and the MPI tests run under mpirun;
    # without it everything else works and those tests are skipped.
    if (-not (Test-NativeLibrary 'libmpi.so.40') -or -not (Get-Command mpirun -ErrorAction SilentlyContinue)) {
        if ((& id -u) -eq '0') {
            Write-Host 'Installing openmpi-bin, libopenmpi-dev with apt-get (optional: MPI runs and their tests)'
            Invoke-Native 'apt-get update' { apt-get update -qq }
            Invoke-Native 'apt-get install' { apt-get install -y -qq openmpi-bin libopenmpi-dev }
        }
        else {
            Write-Host 'OpenMPI not found (optional: MPI runs and their tests). Install it with: sudo apt-get install -y openmpi-bin libopenmpi-dev'
        }
    }
    else {
        Write-Host 'OpenMPI: libmpi.so.40 and mpirun found.'
    }
}

function Merge-Fragments {
    param([string] $Folder, [string] $Header, [string] $Footer, [string] $Destination)
    $parts = Get-ChildItem -Path $Folder -Filter '*.xml' | Sort-Object Name | ForEach-Object { Get-Content -Raw -LiteralPath $_.FullName }
    $text = $Header + ($parts -join "`n") + $Footer
    [xml]$null = $text   # fail the build on malformed XML
    Set-Content -LiteralPath $Destination -Value $text -Encoding utf8NoBOM
}

function Invoke-Build {
    Write-Host '== Build'
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $Root 'src/CryoEmPS.Commands/CryoEmPS.Commands.csproj') -c $Configuration --nologo -v q -clp:ErrorsOnly }
    $bin = Join-Path $Root "src/CryoEmPS.Commands/bin/$Configuration/net8.0"
    if (Test-Path $ModuleOut) { Remove-Item -Recurse -Force $ModuleOut }
    New-Item -ItemType Directory -Force -Path (Join-Path $ModuleOut 'en-US') | Out-Null
    foreach ($dll in 'CryoEmPS.dll', 'CryoEmPS.Core.dll', 'MathNet.Numerics.dll', 'ScottPlot.dll', 'SkiaSharp.dll', 'SkiaSharp.HarfBuzz.dll',
        'HarfBuzzSharp.dll') {
        Copy-Item -LiteralPath (Join-Path $bin $dll) -Destination $ModuleOut
    }
    # The charts' native libraries (libSkiaSharp, libHarfBuzzSharp), for the platforms FFTW/OpenBLAS run on (Linux); the
    # module's NativeAssetResolver finds them in runtimes/<rid>/native.
    foreach ($rid in 'linux-x64', 'linux-arm64') {
        $native = Join-Path $bin "runtimes/$rid/native"
        if (Test-Path $native) {
            $target = Join-Path $ModuleOut "runtimes/$rid/native"
            New-Item -ItemType Directory -Force -Path $target | Out-Null
            Copy-Item -Path (Join-Path $native '*') -Destination $target
        }
    }
    Copy-Item -LiteralPath (Join-Path $Root 'LICENSE') -Destination $ModuleOut
    # One version number: Directory.Build.props.
    [xml]$props = Get-Content -Raw (Join-Path $Root 'Directory.Build.props')
    $version = @($props.Project.PropertyGroup | Where-Object { $_['Version'] })[0].Version
    $manifest = Get-Content -Raw (Join-Path $Root 'module/CryoEmPS.psd1')
    $manifest = $manifest -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    Set-Content -LiteralPath (Join-Path $ModuleOut 'CryoEmPS.psd1') -Value $manifest -Encoding utf8NoBOM

    Merge-Fragments -Folder (Join-Path $Root 'module/format') -Destination (Join-Path $ModuleOut 'CryoEmPS.format.ps1xml') `
        -Header "<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<Configuration>`n<ViewDefinitions>`n" -Footer "`n</ViewDefinitions>`n</Configuration>`n"
    Merge-Fragments -Folder (Join-Path $Root 'module/help') -Destination (Join-Path $ModuleOut 'en-US/CryoEmPS.dll-Help.xml') `
        -Header "<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<helpItems schema=`"maml`" xmlns=`"http://msh`" xmlns:maml=`"http://schemas.microsoft.com/maml/2004/10`" xmlns:command=`"http://schemas.microsoft.com/maml/dev/command/2004/10`" xmlns:dev=`"http://schemas.microsoft.com/maml/dev/2004/10`">`n" `
        -Footer "`n</helpItems>`n"
    Copy-Item -LiteralPath (Join-Path $Root 'module/en-US/about_CryoEmPS.help.txt') -Destination (Join-Path $ModuleOut 'en-US')
    Write-Host "Module: $ModuleOut (version $version)"
}

function Get-TrxCounts([string] $Folder) {
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem -Path $Folder -Filter '*.trx' -ErrorAction SilentlyContinue) {
        [xml]$x = Get-Content -Raw -LiteralPath $trx.FullName
        $c = $x.TestRun.ResultSummary.Counters
        $passed += [int]$c.passed; $failed += [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
        # xunit's trx leaves notExecuted at 0 for skipped tests; they are the ones counted but not executed.
        $skipped += [Math]::Max([int]$c.notExecuted, [int]$c.total - [int]$c.executed)
    }
    [pscustomobject]@{ Passed = $passed; Failed = $failed; Skipped = $skipped }
}

function Invoke-Test {
    Write-Host '== Test: xunit (CryoEmPS.Core)'
    $results = Join-Path $Out 'TestResults'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    $filter = if ($Expensive) { '' } else { 'Category!=Expensive' }
    $testArgs = @('test', (Join-Path $Root 'tests/CryoEmPS.Core.Tests/CryoEmPS.Core.Tests.csproj'), '-c', $Configuration, '--nologo',
        '--logger', 'trx;LogFileName=core.trx', '--logger', 'console;verbosity=minimal', '--results-directory', $results)
    if ($filter) { $testArgs += @('--filter', $filter) }
    & dotnet @testArgs
    $xunitExit = $LASTEXITCODE
    $x = Get-TrxCounts $results
    if ($xunitExit -ne 0 -and $x.Failed -eq 0) { $x.Failed = 1; Write-Warning "dotnet test exited $xunitExit without a failed test (build error?)." }
    Write-Host ("xunit: {0} passed, {1} failed, {2} skipped" -f $x.Passed, $x.Failed, $x.Skipped)

    Write-Host '== Test: Pester (cmdlets, against out/CryoEmPS)'
    $pesterOut = Join-Path $results 'pester.json'
    $tags = if ($Expensive) { '@()' } else { "@('Expensive')" }
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$PesterModule'
`$c = New-PesterConfiguration
`$c.Run.Path = '$(Join-Path $Root 'tests/pester')'
`$c.Run.PassThru = `$true
`$c.Filter.ExcludeTag = $tags
`$c.Output.Verbosity = 'Normal'
if (`$env:CI) { `$c.Output.RenderMode = 'Plaintext' }
`$r = Invoke-Pester -Configuration `$c
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$r.SkippedCount } | ConvertTo-Json | Set-Content '$pesterOut'
"@
    $env:CRYOEMPS_MODULE = Join-Path $ModuleOut 'CryoEmPS.psd1'
    Invoke-ChildPwsh @('-Command', $script)
    $p = if (Test-Path $pesterOut) { Get-Content -Raw $pesterOut | ConvertFrom-Json } else { [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 } }
    Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $p.Passed, $p.Failed, $p.Skipped)

    $passed = $x.Passed + $p.Passed; $failed = $x.Failed + $p.Failed; $skipped = $x.Skipped + $p.Skipped
    Write-Host ''
    Write-Host ("{0} passed, {1} failed, {2} skipped" -f $passed, $failed, $skipped)
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Script([string] $Path, [string[]] $Arguments = @()) {
    $env:CRYOEMPS_MODULE = Join-Path $ModuleOut 'CryoEmPS.psd1'
    Invoke-ChildPwsh (@('-File', $Path) + $Arguments)
    if ($LASTEXITCODE -ne 0) { throw "$Path failed with exit code $LASTEXITCODE." }
}

# A line on stderr every few seconds while a long child runs (the benchmark's runs print only when each ends). A .NET timer,
# not a PowerShell event: events are not processed while a native command runs.
function Start-Heartbeat([int] $Seconds, [string] $What) {
    if (-not ('CryoEmPSBuild.Heartbeat' -as [type])) {
        Add-Type -TypeDefinition @'
namespace CryoEmPSBuild {
    public sealed class Heartbeat : System.IDisposable {
        private readonly System.Threading.Timer _timer;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        public Heartbeat(int seconds, string what) {
            _timer = new System.Threading.Timer(_ => System.Console.Error.WriteLine(
                string.Format("   ... {0} running, {1:0.0} min elapsed", what, _clock.Elapsed.TotalMinutes)),
                null, seconds * 1000, seconds * 1000);
        }
        public void Dispose() { _timer.Dispose(); }
    }
}
'@
    }
    return [CryoEmPSBuild.Heartbeat]::new($Seconds, $What)
}

try {
    switch ($Task) {
        'Bootstrap' { Invoke-Bootstrap }
        'Build' { Invoke-Bootstrap; Invoke-Build }
        'Test' { Invoke-Bootstrap; Invoke-Build; Invoke-Test }
        'Demo' { Invoke-Bootstrap; Invoke-Build; Invoke-Script (Join-Path $Root 'examples/Demo.ps1') }
        'Bench' {
            Invoke-Bootstrap; Invoke-Build
            Write-Host "== Bench: protocol $Protocol (each run prints its table when it ends; a heartbeat line every 30 s until then)"
            $heartbeat = Start-Heartbeat -Seconds 30 -What "Bench $Protocol"
            try { Invoke-Script (Join-Path $Root 'benchmarks/Invoke-Benchmark.ps1') @('-Protocol', $Protocol) }
            finally { $heartbeat.Dispose() }
        }
    }
}
catch {
    Write-Host "build.ps1 $Task failed: $_" -ForegroundColor Red
    exit 1
}
