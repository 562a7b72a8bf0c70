# Hostile files, NaNs, huge sizes, checkpoint identity and concurrent writers (issue 15): every reproducer of the issue
# gives a stable CryoEmPS ErrorId or works, through the cmdlets.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $ProgressPreference = 'SilentlyContinue'
    $script:v = New-EmVolume -Phantom -Size 11
    $script:m = New-Micrograph -Volume $script:v -Size 110 -ParticleCount 5 -Seed 1 3>$null
    $script:ps = $script:m | Get-PatchSet
    $script:em = @{ InitialVolume = $script:v; EllMax = 2; RotationCount = 10; MaxIterations = 1; Seed = 1 }

    # A command's output and errors, terminating or not, whatever $ErrorActionPreference the runner set.
    function Invoke-Collecting([scriptblock] $Command) {
        $ErrorActionPreference = 'Continue'
        $output = [System.Collections.Generic.List[object]]::new()
        $errors = [System.Collections.Generic.List[object]]::new()
        try {
            foreach ($item in (& $Command 2>&1 3>$null)) {
                if ($item -is [System.Management.Automation.ErrorRecord]) { $errors.Add($item) } else { $output.Add($item) }
            }
        }
        catch {
            $errors.Add($_)
        }
        [pscustomobject]@{ Output = $output; Errors = $errors }
    }

    function Get-FirstError([scriptblock] $Command) { (Invoke-Collecting $Command).Errors | Select-Object -First 1 }

    # An MRC file whose header says nx, ny, nz = 8, 1073807362, 2147352580 (a product that wraps to 64 voxels).
    function New-WrappedMrc([string] $Path) {
        $bytes = [byte[]]::new(1024 + 64 * 4)
        [BitConverter]::GetBytes([int]8).CopyTo($bytes, 0)
        [BitConverter]::GetBytes([int]1073807362).CopyTo($bytes, 4)
        [BitConverter]::GetBytes([int]2147352580).CopyTo($bytes, 8)
        [BitConverter]::GetBytes([int]2).CopyTo($bytes, 12)
        foreach ($word in 16, 17, 18) { [BitConverter]::GetBytes([int]($word - 15)).CopyTo($bytes, 4 * $word) }
        [Text.Encoding]::ASCII.GetBytes('MAP ').CopyTo($bytes, 208); $bytes[212] = 0x44; $bytes[213] = 0x44
        [IO.File]::WriteAllBytes($Path, $bytes)
    }
}

Describe 'Hostile MRC files' {
    BeforeAll {
        $script:dir = Join-Path $TestDrive 'batch'
        New-Item -ItemType Directory $script:dir | Out-Null
        $script:v | Export-EmVolume (Join-Path $script:dir 'a.mrc')
        New-WrappedMrc (Join-Path $script:dir 'b.mrc')
        $script:v | Export-EmVolume (Join-Path $script:dir 'c.mrc')
    }

    It 'a header whose dimensions wrap 2^64 is MrcInvalidDimensions' {
        $e = Get-FirstError { Import-EmVolume (Join-Path $script:dir 'b.mrc') }
        $e.FullyQualifiedErrorId | Should -BeLike 'MrcInvalidDimensions,*'
        $e.Exception.Message | Should -Match '1073807362'
    }

    It 'one bad file does not stop a batch: <Name>' -ForEach @(
        @{ Name = 'Import-EmVolume -Path *.mrc'; Code = { Import-EmVolume (Join-Path $script:dir '*.mrc') } }
        @{ Name = 'Get-ChildItem | Import-EmVolume'; Code = { Get-ChildItem (Join-Path $script:dir '*.mrc') | Import-EmVolume } }
        @{ Name = 'Import-EmImageStack -Path *.mrc'; Code = { Import-EmImageStack (Join-Path $script:dir '*.mrc') } }
        @{ Name = 'Get-ChildItem | Import-Micrograph'; Code = { Get-ChildItem (Join-Path $script:dir '*.mrc') | Import-Micrograph } }
        @{ Name = 'a missing path among good ones'; Code = { Import-EmVolume (Join-Path $script:dir 'a.mrc'), (Join-Path $script:dir 'zz.mrc'), (Join-Path $script:dir 'c.mrc') } }
    ) {
        $result = Invoke-Collecting $Code
        $result.Output.Count | Should -BeGreaterOrEqual 2
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'Mrc*'
    }

    It 'a named pipe is refused at once (MrcTruncated), not read forever' -Skip:($IsWindows -or -not (Get-Command mkfifo -ErrorAction SilentlyContinue)) {
        $fifo = Join-Path $TestDrive 'pipe.mrc'
        & mkfifo $fifo
        $e = Get-FirstError { Import-EmVolume -LiteralPath $fifo }
        $e.FullyQualifiedErrorId | Should -BeLike 'MrcTruncated,*'
        Remove-Item -LiteralPath $fifo
    }

    It 'a label with sigma2=<Value> is MrcInvalidLabel' -ForEach @(@{ Value = 'Infinity' }, @{ Value = '-5' }) {
        $p = Join-Path $TestDrive 'mic.mrc'
        $script:m | Export-Micrograph $p -Force
        $bytes = [IO.File]::ReadAllBytes($p)
        $label = [Text.Encoding]::ASCII.GetString($bytes, 304, 80) -replace 'sigma2=\S+', "sigma2=$Value"
        [Text.Encoding]::ASCII.GetBytes($label.PadRight(80).Substring(0, 80)).CopyTo($bytes, 304)
        [IO.File]::WriteAllBytes($p, $bytes)
        (Get-FirstError { Import-Micrograph $p }).FullyQualifiedErrorId | Should -BeLike 'MrcInvalidLabel,*'
    }
}

Describe 'Sizes that cannot fit are refused before allocating' {
    BeforeAll { $script:saved = $env:CRYOEMPS_MEMORY_LIMIT }
    AfterAll { $env:CRYOEMPS_MEMORY_LIMIT = $script:saved }
    BeforeEach { $env:CRYOEMPS_MEMORY_LIMIT = '200000' }
    AfterEach { $env:CRYOEMPS_MEMORY_LIMIT = $script:saved }

    It '<Name> is InsufficientMemory' -ForEach @(
        @{ Name = 'New-EmVolume -Phantom -Size 64'; Code = { New-EmVolume -Phantom -Size 64 } }
        @{ Name = 'Resize-EmVolume -Size 64'; Code = { $script:v | Resize-EmVolume -Size 64 } }
        @{ Name = 'New-Micrograph -Size 400'; Code = { New-Micrograph -Volume $script:v -Size 400 -ParticleCount 3 } }
        @{ Name = 'Get-EmProjection of 500 rotations'; Code = { $script:v | Get-EmProjection -Rotation (New-RotationSet -Count 500) } }
        @{ Name = 'ConvertFrom-FourierBessel'; Code = { New-EmVolume -Phantom -Size 17 -Seed 3 | ConvertTo-FourierBessel -EllMax 2 | ConvertFrom-FourierBessel } }
        @{ Name = 'Invoke-ApproxEm with 100000 rotations'; Code = { $script:ps | Invoke-ApproxEm @script:em -RotationCount 100000 } }
        @{ Name = 'Import-EmVolume of a 40^3 map'; Code = { Import-EmVolume (Join-Path $TestDrive 'big.mrc') } }
    ) {
        if ($Name -like 'Import*') {
            $env:CRYOEMPS_MEMORY_LIMIT = $script:saved
            New-EmVolume -Phantom -Size 40 | Export-EmVolume (Join-Path $TestDrive 'big.mrc') -Force
            $env:CRYOEMPS_MEMORY_LIMIT = '200000'
        }
        if ($Name -like 'ConvertFrom*') {
            $env:CRYOEMPS_MEMORY_LIMIT = $script:saved
            $fb = New-EmVolume -Phantom -Size 17 -Seed 3 | ConvertTo-FourierBessel -EllMax 2
            $env:CRYOEMPS_MEMORY_LIMIT = '20000'
            $Code = { $fb | ConvertFrom-FourierBessel }
        }
        $e = Get-FirstError $Code
        $e.FullyQualifiedErrorId | Should -BeLike 'InsufficientMemory,*'
        $e.Exception.Message | Should -Match 'needs about .* of memory'
    }

    It 'ten million EM rotations are ArrayTooLarge at once, before any grid is made' {
        $env:CRYOEMPS_MEMORY_LIMIT = $script:saved
        $e = Get-FirstError { $script:ps | Invoke-ApproxEm @script:em -RotationCount 10000000 }
        $e.FullyQualifiedErrorId | Should -BeLike 'ArrayTooLarge,*'
    }

    It 'New-Micrograph -Size 46340 is refused by the real budget' {
        $env:CRYOEMPS_MEMORY_LIMIT = $script:saved
        (Get-FirstError { New-Micrograph -Volume $script:v -Size 46340 -ParticleCount 3 }).FullyQualifiedErrorId |
            Should -BeLike 'InsufficientMemory,*'
    }
}

Describe 'NaN and huge values never reach the EM silently' {
    It 'a NaN pixel is MicrographNotFinite in Get-PatchSet' {
        $bad = New-Micrograph -Volume $script:v -Size 110 -ParticleCount 5 -Seed 1 3>$null
        $bad.Data[5] = [double]::NaN
        (Get-FirstError { $bad | Get-PatchSet }).FullyQualifiedErrorId | Should -BeLike 'MicrographNotFinite,*'
    }

    It 'pixels times 1e200 are MicrographNotFinite in Get-PatchSet' {
        $bad = New-Micrograph -Volume $script:v -Size 110 -ParticleCount 5 -Seed 1 3>$null
        for ($i = 0; $i -lt $bad.Data.Length; $i++) { $bad.Data[$i] *= 1e200 }
        (Get-FirstError { $bad | Get-PatchSet }).FullyQualifiedErrorId | Should -BeLike 'MicrographNotFinite,*'
    }

    It 'a patch set with a NaN made directly is PatchSetNotFinite in Invoke-ApproxEm' {
        $data = $script:ps.Data.Clone(); $data[3] = [double]::NaN
        $bad = [CryoEmPS.Core.Patches.PatchSet]::new($script:ps.PatchSize, $data, $script:ps.Origins, $null, 1.0, $null)
        (Get-FirstError { $bad | Invoke-ApproxEm @script:em }).FullyQualifiedErrorId | Should -BeLike 'PatchSetNotFinite,*'
    }

    It 'a NaN Fourier-Bessel coefficient is VolumeNotFinite in <Name>' -ForEach @(
        @{ Name = 'Get-EmProjection'; Code = { $fb | Get-EmProjection -Rotation (New-RotationSet -Count 2) } }
        @{ Name = 'ConvertFrom-FourierBessel'; Code = { $fb | ConvertFrom-FourierBessel } }
        @{ Name = 'Invoke-ApproxEm'; Code = { $script:ps | Invoke-ApproxEm -InitialVolume $fb -EllMax 2 -RotationCount 10 -MaxIterations 1 -Seed 1 } }
        @{ Name = 'New-Micrograph'; Code = { New-Micrograph -Volume $fb -Size 50 -ParticleCount 2 } }
    ) {
        $fb = $script:v | ConvertTo-FourierBessel -EllMax 2
        $fb.Coefficients[2] = [double]::NaN
        (Get-FirstError $Code).FullyQualifiedErrorId | Should -BeLike 'VolumeNotFinite,*'
    }

    It 'patches of side <Size> are PatchSizeTooSmall' -ForEach @(@{ Size = 1 }, @{ Size = 2 }) {
        $small = $script:m | Get-PatchSet -PatchSize $Size
        (Get-FirstError { $small | Invoke-ApproxEm -EllMax 0 -RotationCount 10 -MaxIterations 1 -NoiseVariance 1 -Seed 1 }).FullyQualifiedErrorId |
            Should -BeLike 'PatchSizeTooSmall,*'
    }

    It 'ConvertTo-FourierBessel of a 2^3 volume is FourierBesselVolumeTooSmall' {
        (Get-FirstError { [CryoEmPS.Core.Volumes.Volume]::new(2) | ConvertTo-FourierBessel -EllMax 1 }).FullyQualifiedErrorId |
            Should -BeLike 'FourierBesselVolumeTooSmall,*'
    }

    It 'a PDB atom with <Name> is <Id>' -ForEach @(
        @{ Name = 'x = 1e308'; X = '1e308'; Occupancy = '1.00'; Id = 'PdbBadRecord' }
        @{ Name = 'occupancy 1e308'; X = '1.000'; Occupancy = '1e308'; Id = 'PdbBadRecord' }
        @{ Name = 'all occupancies 0'; X = '1.000'; Occupancy = '0.00'; Id = 'PdbZeroOccupancy' }
    ) {
        $p = Join-Path $TestDrive 'x.pdb'
        ('ATOM      1  CA  ALA A   1    {0,8}{1,8}{2,8}{3,6}{4,6}           C' -f $X, '0.000', '0.000', $Occupancy, '0.00') | Set-Content $p
        (Get-FirstError { New-EmVolume -AtomicModel $p -Size 16 -VoxelSize 1 }).FullyQualifiedErrorId | Should -BeLike "$Id,*"
    }
}

Describe 'Checkpoints' {
    BeforeAll {
        $script:ckDir = Join-Path $TestDrive 'ck'
        New-Item -ItemType Directory $script:ckDir | Out-Null
    }

    It 'contrast-inverted micrographs have different patch fingerprints' {
        $inverted = [CryoEmPS.Core.Simulation.Micrograph]::new($script:m.SizeY, $script:m.SizeX, [double[]]($script:m.Data | ForEach-Object { -$_ }), 0, 'inv')
        $inverted.NoiseVariance = $script:m.NoiseVariance
        $a = ($script:m, $script:m | Get-PatchSet -PatchSize 11).Fingerprint()
        $b = ($inverted, $inverted | Get-PatchSet -PatchSize 11).Fingerprint()
        $a | Should -Not -Be $b
        $a | Should -Match '^[0-9a-f]{64}$'
    }

    It 'a second run on a checkpoint in use is CheckpointInUse' {
        $ck = Join-Path $script:ckDir 'busy.ckpt'
        $lock = [CryoEmPS.Core.IO.FileLock]::Acquire($ck, 'The checkpoint')
        try {
            (Get-FirstError { $script:ps | Invoke-ApproxEm @script:em -CheckpointPath $ck }).FullyQualifiedErrorId |
                Should -BeLike 'CheckpointInUse,*'
        }
        finally { $lock.Dispose() }
        $null = $script:ps | Invoke-ApproxEm @script:em -CheckpointPath $ck
        Test-Path $ck | Should -BeTrue
    }

    It 'a checkpoint with a correct checksum but <Name> is CheckpointUnreadable' -ForEach @(
        @{ Name = 'stage -1'; Stage = -1; Iteration = 0; V = 0.5; Coefficient = 0.0 }
        @{ Name = 'stage 99'; Stage = 99; Iteration = 0; V = 0.5; Coefficient = 0.0 }
        @{ Name = 'iteration 1000'; Stage = 0; Iteration = 1000; V = 0.5; Coefficient = 0.0 }
        @{ Name = 'v = NaN'; Stage = 0; Iteration = 0; V = [double]::NaN; Coefficient = 0.0 }
        @{ Name = 'a NaN coefficient'; Stage = 0; Iteration = 0; V = 0.5; Coefficient = [double]::NaN }
    ) {
        $ck = Join-Path $script:ckDir 'crafted.ckpt'
        Remove-Item -LiteralPath $ck -ErrorAction SilentlyContinue
        $null = $script:ps | Invoke-ApproxEm @script:em -CheckpointPath $ck 3>$null
        $good = [CryoEmPS.Core.Reconstruction.ApproxEmCheckpoint]::Read($ck)
        $x = $good.Coefficients.Clone(); if ([double]::IsNaN($Coefficient)) { $x[0] = $Coefficient }
        $bad = [CryoEmPS.Core.Reconstruction.ApproxEmCheckpoint]::new($good.Key, $Stage, $Iteration, $x, $V, $good.PreviousObjective,
            $good.Objective, $good.History)
        $bad.Write($ck)
        (Get-FirstError { $script:ps | Invoke-ApproxEm @script:em -CheckpointPath $ck -Resume }).FullyQualifiedErrorId |
            Should -BeLike 'CheckpointUnreadable,*'
    }

    It 'a temporary file left by a killed writer is removed by the next write' {
        $ck = Join-Path $script:ckDir 'stale.ckpt'
        $stale = Join-Path $script:ckDir '.stale.ckpt.2147483646.0badf00d.tmp'
        'half a checkpoint' | Set-Content -LiteralPath $stale
        $null = $script:ps | Invoke-ApproxEm @script:em -CheckpointPath $ck
        Test-Path -LiteralPath $stale | Should -BeFalse
        Test-Path -LiteralPath $ck | Should -BeTrue
    }
}

Describe 'Files written' {
    It 'concurrent Export-EmVolume without -Force: exactly one of 8 wins, the others are MrcFileAlreadyExists' {
        $target = Join-Path $TestDrive 'race.mrc'
        $module = $script:ModulePath
        $volume = $script:v
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            try {
                $using:volume | Export-EmVolume -Path $using:target -ErrorAction Stop
                'won'
            }
            catch { $_.FullyQualifiedErrorId }
        }
        @($results | Where-Object { $_ -eq 'won' }).Count | Should -Be 1
        @($results | Where-Object { $_ -like 'MrcFileAlreadyExists,*' }).Count | Should -Be 7
        @(Get-ChildItem -Force $TestDrive -Filter '*.tmp').Count | Should -Be 0
    }

    It 'Export-EmVolume twice gives the same SHA-256' {
        $a = Join-Path $TestDrive 'same1.mrc'; $b = Join-Path $TestDrive 'same2.mrc'
        $script:v | Export-EmVolume $a
        Start-Sleep -Milliseconds 1100
        $script:v | Export-EmVolume $b
        (Get-FileHash $a -Algorithm SHA256).Hash | Should -Be (Get-FileHash $b -Algorithm SHA256).Hash
    }

    It 'SOURCE_DATE_EPOCH puts that time in the program label' {
        $saved = $env:SOURCE_DATE_EPOCH
        try {
            $env:SOURCE_DATE_EPOCH = '1700000000'
            $p = Join-Path $TestDrive 'epoch.mrc'
            $script:v | Export-EmVolume $p
            [Text.Encoding]::ASCII.GetString([IO.File]::ReadAllBytes($p), 224, 80) | Should -Match '^CryoEmPS \S+ 2023-11-14 22:13:20'
        }
        finally { $env:SOURCE_DATE_EPOCH = $saved }
    }
}
