# Issue 13: the EM under OpenMPI, the real thing: mpirun -np 2 against one process, repeatability, a rank that dies, a
# checkpoint resumed with another rank count, and the module without OpenMPI. Skipped (with the reason) where mpirun is not
# installed; build.ps1 Bootstrap installs openmpi-bin and libopenmpi-dev when it runs as root.
BeforeDiscovery {
    $script:HasMpirun = [bool](Get-Command mpirun -ErrorAction SilentlyContinue)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Pwsh = Get-ChildPwsh
    $script:MpiSkip = 'mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev): the MPI tests are skipped.'
    # One small EM, written so that every rank runs the same script: each rank saves its own coefficients (Set-Content, not an
    # Export-* cmdlet) and Export-EmVolume writes the map on rank 0 only.
    $script:Script = Join-Path $TestDrive 'em.ps1'
    @'
param([string] $Out, [string] $Checkpoint = '', [switch] $Resume, [int] $StopAfter = 0, [switch] $DieOnRank1, [string[]] $Micrographs = @())
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $env:CRYOEMPS_MODULE
$me = Get-EmMpiRank
if ($DieOnRank1 -and $me.Rank -eq 1) { Stop-Process -Id $PID -Force }
$truth = New-EmVolume -Phantom -Size 11
# -Micrographs: each rank reads only its share of the files (Import-Micrograph -RankShare) and records which it read.
$Micrographs = @($Micrographs | ForEach-Object { $_ -split ',' })
$mics = if ($Micrographs) { @(Import-Micrograph -Path $Micrographs -RankShare) }
        else { @(New-Micrograph $truth -Size 132 -Density 0.3 -Snr 2 -Seed 4) }
$patches = $mics | Get-PatchSet -PatchSize 11
$start = $truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size 11
$em = @{ PatchSet = $patches; InitialVolume = $start; EllMax = 3, 5; RotationCount = 80; StochasticFactor = 0.5; MaxIterations = 3
         Seed = 9; ThrottleLimit = 1; EstimateNoiseVariance = $true; MStep = 'Incremental'; Precision = 'Double' }
if ($Checkpoint) { $em.CheckpointPath = $Checkpoint; $em.Resume = $Resume }
$result = Invoke-ApproxEm @em
$x = $result.FourierBesselVolume.Coefficients
[pscustomobject]@{ Rank = $me.Rank; Size = $me.Size; IsMpi = $me.IsMpi; X = $x | ForEach-Object { $_.ToString('R') }
    Rows = $result.History.Count; Bytes = (Get-EmMpiRank).BytesMoved; Loaded = @($mics | ForEach-Object { if ($_.FilePath) { Split-Path -Leaf $_.FilePath } }) } |
    ConvertTo-Json -Compress | Set-Content (Join-Path $Out "rank$($me.Rank)-of-$($me.Size).json")
$result.Volume | Export-EmVolume -Path (Join-Path $Out 'map.mrc') -Force -Verbose 4>&1 |
    ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { Set-Content (Join-Path $Out "verbose$($me.Rank).txt") $_.Message } }
'@ | Set-Content $script:Script

    function Invoke-Em([int] $Ranks, [string] $Out, [string[]] $More = @(), [int] $TimeoutSeconds = 600, [hashtable] $Environment = @{}) {
        New-Item -ItemType Directory -Force -Path $Out | Out-Null
        $arguments = @('-NoProfile', '-File', $script:Script, '-Out', $Out) + $More
        $file, $list = if ($Ranks -gt 0) { 'mpirun', (@('--allow-run-as-root', '--oversubscribe', '-np', "$Ranks") + $script:Pwsh + $arguments) }
        else { $script:Pwsh[0], (@($script:Pwsh | Select-Object -Skip 1) + $arguments) }
        $info = [System.Diagnostics.ProcessStartInfo]::new($file)
        foreach ($a in $list) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $info.Environment['CRYOEMPS_MODULE'] = (Resolve-Path $script:ModulePath).Path
        foreach ($k in $Environment.Keys) { $info.Environment[$k] = $Environment[$k] }
        $p = [System.Diagnostics.Process]::Start($info)
        $stdout = $p.StandardOutput.ReadToEndAsync()
        $stderr = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
            $p.Kill($true)
            throw "$file did not end within $TimeoutSeconds s (a hang): $($stderr.Result)"
        }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $stdout.Result; Error = $stderr.Result }
    }

    function Read-Rank([string] $Out, [int] $Rank, [int] $Size) {
        $json = Get-Content (Join-Path $Out "rank$Rank-of-$Size.json") -Raw | ConvertFrom-Json
        $json.X = [double[]]@($json.X | ForEach-Object { [double]::Parse($_, [System.Globalization.CultureInfo]::InvariantCulture) })
        $json
    }

    function Get-RelativeDifference([double[]] $A, [double[]] $B) {
        $d = 0; $n = 0
        for ($i = 0; $i -lt $A.Length; $i++) { $d += ($A[$i] - $B[$i]) * ($A[$i] - $B[$i]); $n += $B[$i] * $B[$i] }
        [Math]::Sqrt($d / $n)
    }
}

Describe 'Without MPI' {
    It 'the module runs as one process and never loads OpenMPI, even with the library hidden' {
        $out = Join-Path $TestDrive 'hidden'
        $r = Invoke-Em 0 $out -Environment @{ CRYOEMPS_MPI_LIBRARY = '/nonexistent/libmpi.so.40' }
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $one = Read-Rank $out 0 1
        $one.IsMpi | Should -BeFalse
        $one.Size | Should -Be 1
        Join-Path $out 'map.mrc' | Should -Exist
    }
    It 'started by a launcher without a loadable OpenMPI, stops with MpiLibraryMissing' {
        $env:OMPI_COMM_WORLD_SIZE = '2'
        $env:CRYOEMPS_MPI_LIBRARY = '/nonexistent/libmpi.so.40'
        try {
            # A fresh process: the world is decided once per process.
            $rest = @($script:Pwsh | Select-Object -Skip 1)
            $text = & $script:Pwsh[0] @rest -NoProfile -Command "Import-Module '$((Resolve-Path $script:ModulePath).Path)'; try { Get-EmMpiRank -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message }" 2>&1
        }
        finally {
            Remove-Item Env:OMPI_COMM_WORLD_SIZE, Env:CRYOEMPS_MPI_LIBRARY
        }
        ($text -join "`n") | Should -Match 'MpiLibraryMissing'
        ($text -join "`n") | Should -Match 'apt-get install'
    }
}

Describe 'Under mpirun' -Skip:(-not $script:HasMpirun) {
    BeforeAll {
        $script:Alone = Join-Path $TestDrive 'alone'
        $script:Two = Join-Path $TestDrive 'two'
        $script:TwoAgain = Join-Path $TestDrive 'two-again'
        $script:R1 = Invoke-Em 0 $script:Alone
        $script:R2 = Invoke-Em 2 $script:Two
        $script:R2b = Invoke-Em 2 $script:TwoAgain
    }
    It 'mpirun -np 2 runs the EM on both ranks, and they hold the same coefficients' {
        $script:R2.ExitCode | Should -Be 0 -Because $script:R2.Error
        $a = Read-Rank $script:Two 0 2
        $b = Read-Rank $script:Two 1 2
        $a.IsMpi | Should -BeTrue
        $b.Size | Should -Be 2
        $b.X | Should -Be $a.X
        $a.Bytes | Should -BeGreaterThan 0
    }
    It 'equals the one-process run to 1e-12 (relative)' {
        $script:R1.ExitCode | Should -Be 0 -Because $script:R1.Error
        $one = Read-Rank $script:Alone 0 1
        $two = Read-Rank $script:Two 0 2
        $two.Rows | Should -Be $one.Rows
        Get-RelativeDifference $two.X $one.X | Should -BeLessThan 1e-12
    }
    It 'two 2-rank runs are bit-identical' {
        $script:R2b.ExitCode | Should -Be 0 -Because $script:R2b.Error
        (Read-Rank $script:TwoAgain 0 2).X | Should -Be (Read-Rank $script:Two 0 2).X
    }
    It 'only rank 0 writes files; rank 1 says so' {
        Join-Path $script:Two 'map.mrc' | Should -Exist
        Get-Content (Join-Path $script:Two 'verbose1.txt') -Raw | Should -Match 'rank 1 of 2.*only rank 0 writes files'
    }
    It 'a rank that dies ends the job with an error instead of hanging' {
        $r = Invoke-Em 2 (Join-Path $TestDrive 'die') -More '-DieOnRank1' -TimeoutSeconds 300
        $r.ExitCode | Should -Not -Be 0
    }
    It 'a checkpoint written on 2 ranks resumes on 1, and one written on 1 resumes on 2' {
        foreach ($pair in @(@(2, 0), @(0, 2))) {
            $ck = Join-Path $TestDrive "em-$($pair[0])-$($pair[1]).ckpt"
            $first = Invoke-Em $pair[0] (Join-Path $TestDrive "first-$($pair[0])") -More '-Checkpoint', $ck
            $first.ExitCode | Should -Be 0 -Because $first.Error
            $ck | Should -Exist
            # Resuming a finished run redoes its last E-step only, on the other rank count, and returns the same map.
            $out = Join-Path $TestDrive "resumed-$($pair[1])"
            $again = Invoke-Em $pair[1] $out -More '-Checkpoint', $ck, '-Resume'
            $again.ExitCode | Should -Be 0 -Because $again.Error
            $size = [Math]::Max(1, $pair[1])
            Get-RelativeDifference (Read-Rank $out 0 $size).X (Read-Rank (Join-Path $TestDrive "first-$($pair[0])") 0 ([Math]::Max(1, $pair[0]))).X |
                Should -BeLessThan 1e-12
        }
    }
}

Describe 'Each rank loads only its own micrographs (Import-Micrograph -RankShare)' -Skip:(-not $script:HasMpirun) {
    BeforeAll {
        # Three micrographs in three files; two ranks read one and two of them.
        $truth = New-EmVolume -Phantom -Size 11
        $script:Files = foreach ($i in 1..3) {
            $path = Join-Path $TestDrive "m$i.mrc"
            New-Micrograph $truth -Size 77 -Density 0.3 -Snr 2 -Seed (20 + $i) | Export-Micrograph -Path $path
            $path
        }
        $script:SharesAlone = Join-Path $TestDrive 'shares-alone'
        $script:SharesTwo = Join-Path $TestDrive 'shares-two'
        $script:S1 = Invoke-Em 0 $script:SharesAlone -More (@('-Micrographs') + ($script:Files -join ','))
        $script:S2 = Invoke-Em 2 $script:SharesTwo -More (@('-Micrographs') + ($script:Files -join ','))
    }
    It 'rank 0 reads the first file and rank 1 the other two; one process reads all three' {
        $script:S2.ExitCode | Should -Be 0 -Because $script:S2.Error
        $script:S1.ExitCode | Should -Be 0 -Because $script:S1.Error
        @((Read-Rank $script:SharesTwo 0 2).Loaded) | Should -Be @('m1.mrc')
        @((Read-Rank $script:SharesTwo 1 2).Loaded) | Should -Be @('m2.mrc', 'm3.mrc')
        @((Read-Rank $script:SharesAlone 0 1).Loaded) | Should -Be @('m1.mrc', 'm2.mrc', 'm3.mrc')
    }
    It 'the ranks hold the same map, equal to the one-process run to 1e-12 (relative)' {
        $a = Read-Rank $script:SharesTwo 0 2
        $b = Read-Rank $script:SharesTwo 1 2
        $b.X | Should -Be $a.X
        $one = Read-Rank $script:SharesAlone 0 1
        $a.Rows | Should -Be $one.Rows
        Get-RelativeDifference $a.X $one.X | Should -BeLessThan 1e-12
    }
    It 'its checkpoint resumes in one process that reads every file (the same patch-set fingerprint)' {
        $ck = Join-Path $TestDrive 'shares.ckpt'
        $files = @('-Micrographs') + ($script:Files -join ',')
        $first = Invoke-Em 2 (Join-Path $TestDrive 'shares-ck') -More (@('-Checkpoint', $ck) + $files)
        $first.ExitCode | Should -Be 0 -Because $first.Error
        $out = Join-Path $TestDrive 'shares-resumed'
        $again = Invoke-Em 0 $out -More (@('-Checkpoint', $ck, '-Resume') + $files)
        $again.ExitCode | Should -Be 0 -Because $again.Error
        Get-RelativeDifference (Read-Rank $out 0 1).X (Read-Rank (Join-Path $TestDrive 'shares-ck') 0 2).X | Should -BeLessThan 1e-12
    }
    It 'more ranks than files stops every rank with RankShareTooFewFiles' {
        $r = Invoke-Em 2 (Join-Path $TestDrive 'shares-few') -More @('-Micrographs', $script:Files[0]) -TimeoutSeconds 300
        $r.ExitCode | Should -Not -Be 0
        "$($r.Output)$($r.Error)" | Should -Match 'RankShareTooFewFiles|every rank needs at least one'
    }
}
