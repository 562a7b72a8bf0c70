# Wrong input to every cmdlet: each case must stop with a terminating error whose ErrorId is stable and
# specific (never a raw .NET exception), and must leave no file behind.
BeforeDiscovery {
    # Name, code, expected ErrorId (wildcards allowed). $v (11³), $v9 (9³), $nc (5x6x7), $nan (NaN voxel),
    # $m (simulated micrograph), $ps (its patch set), $exists (an existing MRC file), $dir (a folder) are set in BeforeAll.
    $em = '-InitialVolume $v -EllMax 2 -RotationCount 10 -MaxIterations 1 -Seed 1'
    $script:Cases = @(
        # --- files in
        @{ Name = 'Import-EmVolume: nonexistent file';      Code = 'Import-EmVolume ./nope.mrc';                Id = 'MrcFileNotFound,*' }
        @{ Name = 'Import-EmVolume: a folder';              Code = 'Import-EmVolume $dir';                      Id = 'MrcPathIsFolder,*' }
        @{ Name = 'Import-EmVolume: -LiteralPath a folder'; Code = 'Import-EmVolume -LiteralPath $dir';         Id = 'MrcPathIsFolder,*' }
        @{ Name = 'Import-EmVolume: wildcard matching 0';   Code = 'Import-EmVolume ./zz*.mrc';                 Id = 'MrcFileNotFound,*' }
        @{ Name = 'Import-EmVolume: not an MRC file';       Code = 'Import-EmVolume $garbage';                  Id = 'MrcTruncated,*' }
        @{ Name = 'Import-EmImageStack: nonexistent file';  Code = 'Import-EmImageStack ./nope.mrcs';           Id = 'MrcFileNotFound,*' }
        @{ Name = 'Import-Micrograph: negative sigma2';     Code = 'Import-Micrograph $exists -NoiseVariance -1'; Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'Import-Micrograph: NaN sigma2';          Code = 'Import-Micrograph $exists -NoiseVariance ([double]::NaN)'; Id = 'ParameterArgumentValidationError,*' }
        # --- files out
        @{ Name = 'Export-EmVolume: existing file';         Code = '$v | Export-EmVolume $exists';              Id = 'MrcFileAlreadyExists,*' }
        @{ Name = 'Export-EmVolume: a folder';              Code = '$v | Export-EmVolume $dir';                 Id = 'MrcFilePathIsFolder,*' }
        @{ Name = 'Export-EmVolume: missing folder';        Code = '$v | Export-EmVolume ./nodir/x.mrc';        Id = 'MrcFileFolderNotFound,*' }
        @{ Name = 'Export-EmVolume: wildcard path';         Code = '$v | Export-EmVolume ./ex*.mrc';            Id = 'MrcFilePathHasWildcard,*' }
        @{ Name = 'Export-EmVolume: NaN voxels';            Code = '$nan | Export-EmVolume ./nan.mrc';          Id = 'MrcInvalidData,*' }
        @{ Name = 'Export-EmVolume: two volumes, one file'; Code = '$v, $v9 | Export-EmVolume ./two.mrc';       Id = 'MrcMultipleInputs,*' }
        @{ Name = 'Export-EmVolume: wrong pipeline type';   Code = '"text" | Export-EmVolume ./w.mrc -ErrorAction Stop'; Id = 'InputObjectNotBound,*' }
        @{ Name = 'Export-EmImageStack: a volume piped';    Code = '$v | Export-EmImageStack ./s.mrcs -ErrorAction Stop'; Id = 'InputObjectNotBound,*' }
        @{ Name = 'Export-Micrograph: existing file';       Code = '$m | Export-Micrograph $exists';            Id = 'MrcFileAlreadyExists,*' }
        @{ Name = 'Export-ParticleCoordinate: no truth';    Code = 'Import-Micrograph $exists | Select-Object -First 1 | Export-ParticleCoordinate ./c.star'; Id = 'MicrographHasNoTruth,*' }
        @{ Name = 'Export-ParticleCoordinate: name count';  Code = '$m | Export-ParticleCoordinate ./c.star -MicrographName a, b'; Id = 'MicrographNameCountMismatch,*' }
        @{ Name = 'Export-ParticleCoordinate: a folder';    Code = '$m | Export-ParticleCoordinate $dir';       Id = 'StarFilePathIsFolder,*' }
        # --- volumes
        @{ Name = 'New-EmVolume: size 0';                   Code = 'New-EmVolume -Phantom -Size 0';             Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'New-EmVolume: NaN voxel size';           Code = 'New-EmVolume -Phantom -VoxelSize ([double]::NaN)'; Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'New-EmVolume: missing PDB';              Code = 'New-EmVolume -AtomicModel ./no.pdb -Size 16 -VoxelSize 1'; Id = 'PdbFileNotFound,*' }
        @{ Name = 'New-EmVolume: PDB path is a folder';     Code = 'New-EmVolume -AtomicModel $dir -Size 16 -VoxelSize 1'; Id = 'PdbPathIsFolder,*' }
        @{ Name = 'New-EmVolume: wildcard matching 2';      Code = 'New-EmVolume -AtomicModel ./*.mrc -Size 16 -VoxelSize 1'; Id = 'PdbInvalidPath,*' }
        @{ Name = 'New-EmVolume: not a PDB file';           Code = 'New-EmVolume -AtomicModel $garbage -Size 16 -VoxelSize 1'; Id = 'PdbNoAtoms,*' }
        @{ Name = 'New-EmVolume: model without voxel size'; Code = 'New-EmVolume -AtomicModel $garbage -Size 16 -VoxelSize 0'; Id = 'VoxelSizeRequired,*' }
        @{ Name = 'Resize-EmVolume: non-cubic';             Code = '$nc | Resize-EmVolume -Size 5';             Id = 'NonCubicVolume,*' }
        @{ Name = 'Resize-EmVolume: NaN voxels';            Code = '$nan | Resize-EmVolume -Size 9';            Id = 'VolumeNotFinite,*' }
        @{ Name = 'Resize-EmVolume: size 0';                Code = '$v | Resize-EmVolume -Size 0';              Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'ConvertTo-FourierBessel: non-cubic';     Code = '$nc | ConvertTo-FourierBessel -EllMax 3';   Id = 'FourierBesselNonCubicVolume,*' }
        @{ Name = 'ConvertTo-FourierBessel: NaN voxels';    Code = '$nan | ConvertTo-FourierBessel -EllMax 2';  Id = 'VolumeNotFinite,*' }
        @{ Name = 'ConvertTo-FourierBessel: negative lmax'; Code = '$v | ConvertTo-FourierBessel -EllMax -1';   Id = 'ParameterArgumentValidationError,*' }
        # --- rotations and projections
        @{ Name = 'New-RotationSet: count 0';               Code = 'New-RotationSet -Count 0';                  Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'New-RotationSet: row of 2 angles';       Code = 'New-RotationSet -EulerAngle @(1, 2)';       Id = 'EulerAngleBadRow,*' }
        @{ Name = 'New-RotationSet: NaN angle';             Code = 'New-RotationSet -EulerAngle (,@(1, [double]::NaN, 2))'; Id = 'EulerAngleInvalid,*' }
        @{ Name = 'Get-EmProjection: non-cubic';            Code = '$nc | Get-EmProjection -Rotation (New-RotationSet -Count 2)'; Id = 'VolumeNotCubic,*' }
        @{ Name = 'Get-EmProjection: NaN voxels';           Code = '$nan | Get-EmProjection -Rotation (New-RotationSet -Count 2)'; Id = 'VolumeNotFinite,*' }
        @{ Name = 'Get-EmProjection: empty rotations';      Code = '$v | Get-EmProjection -Rotation @()';       Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'Get-EmProjection: a string rotation';    Code = '$v | Get-EmProjection -Rotation "abc"';     Id = 'CannotConvertArgument*' }
        # --- micrographs and patches
        @{ Name = 'New-Micrograph: no count or density';    Code = 'New-Micrograph -Volume $v -Size 100';       Id = 'ParticleCountMissing,*' }
        @{ Name = 'New-Micrograph: count and density';      Code = 'New-Micrograph -Volume $v -Size 100 -ParticleCount 3 -Density 0.1'; Id = 'CountAndDensity,*' }
        @{ Name = 'New-Micrograph: NaN density';            Code = 'New-Micrograph -Volume $v -Size 100 -Density ([double]::NaN)'; Id = 'InvalidDensity,*' }
        @{ Name = 'New-Micrograph: SNR 0';                  Code = 'New-Micrograph -Volume $v -Size 100 -ParticleCount 3 -Snr 0'; Id = 'InvalidSnr,*' }
        @{ Name = 'New-Micrograph: infinite SNR';           Code = 'New-Micrograph -Volume $v -Size 100 -ParticleCount 3 -Snr ([double]::PositiveInfinity)'; Id = 'InvalidSnr,*' }
        @{ Name = 'New-Micrograph: smaller than particle';  Code = 'New-Micrograph -Volume $v -Size 5 -ParticleCount 3'; Id = 'MicrographTooSmall,*' }
        @{ Name = 'New-Micrograph: too many pixels';        Code = 'New-Micrograph -Volume $v -Size 65536 -ParticleCount 3'; Id = 'MicrographTooLarge,*' }
        @{ Name = 'New-Micrograph: non-cubic';              Code = 'New-Micrograph -Volume $nc -Size 100 -ParticleCount 3'; Id = 'NonCubicVolume,*' }
        @{ Name = 'New-Micrograph: NaN voxels';             Code = 'New-Micrograph -Volume $nan -Size 50 -ParticleCount 3'; Id = 'VolumeNotFinite,*' }
        @{ Name = 'New-Micrograph: all-zero volume';        Code = 'New-Micrograph -Volume ([CryoEmPS.Core.Volumes.Volume]::new(7)) -Size 50 -ParticleCount 3'; Id = 'ZeroSignal,*' }
        @{ Name = 'New-Micrograph: a string volume';        Code = 'New-Micrograph -Volume "abc" -Size 100 -ParticleCount 3'; Id = 'InvalidVolumeType,*' }
        @{ Name = 'New-Micrograph: a micrograph piped';     Code = '$m | New-Micrograph -Size 100 -ParticleCount 3'; Id = 'InvalidVolumeType,*' }
        @{ Name = 'New-Micrograph: upsampling Method 1';    Code = 'New-Micrograph -Volume $v -Size 100 -ParticleCount 3 -DownsampleTo 20'; Id = 'DownsampleTooLarge,*' }
        @{ Name = 'Get-PatchSet: patch larger than image';  Code = '$m | Get-PatchSet -PatchSize 200';          Id = 'PatchSizeTooLarge,*' }
        @{ Name = 'Get-PatchSet: no size, no truth';        Code = 'Import-Micrograph $exists | Get-PatchSet';  Id = 'PatchSizeRequired,*' }
        @{ Name = 'Get-PatchSet: empty array';              Code = 'Get-PatchSet -Micrograph @()';              Id = 'ParameterArgumentValidationError*' }
        @{ Name = 'Get-PatchSet: a volume piped';           Code = '$v | Get-PatchSet -PatchSize 5 -ErrorAction Stop'; Id = 'InputObjectNotBound,*' }
        # --- reconstruction and evaluation
        @{ Name = 'Invoke-ApproxEm: negative sigma2';       Code = "`$ps | Invoke-ApproxEm $em -NoiseVariance -1"; Id = 'NoiseVarianceInvalid,*' }
        @{ Name = 'Invoke-ApproxEm: T = 0';                 Code = "`$ps | Invoke-ApproxEm $em -Prior Gaussian -Tau2Fudge 0"; Id = 'Tau2FudgeOutOfRange,*' }
        @{ Name = 'Invoke-ApproxEm: lmax decreasing';       Code = '$ps | Invoke-ApproxEm -InitialVolume $v -EllMax 4, 2 -RotationCount 10 -MaxIterations 1'; Id = 'EllMaxNotIncreasing,*' }
        @{ Name = 'Invoke-ApproxEm: lmax too large';        Code = '$ps | Invoke-ApproxEm -InitialVolume $v -EllMax 99 -RotationCount 10 -MaxIterations 1'; Id = 'EllMaxOutOfRange,*' }
        @{ Name = 'Invoke-ApproxEm: S = 0';                 Code = "`$ps | Invoke-ApproxEm $em -StochasticFactor 0"; Id = 'StochasticFactorOutOfRange,*' }
        @{ Name = 'Invoke-ApproxEm: NaN v0';                Code = "`$ps | Invoke-ApproxEm $em -EmptyProbability ([double]::NaN)"; Id = 'EmptyProbabilityOutOfRange,*' }
        @{ Name = 'Invoke-ApproxEm: negative iterations';   Code = '$ps | Invoke-ApproxEm -InitialVolume $v -EllMax 2 -RotationCount 10 -MaxIterations -1'; Id = 'MaxIterationsOutOfRange,*' }
        @{ Name = 'Invoke-ApproxEm: initial volume size';   Code = '$ps | Invoke-ApproxEm -InitialVolume $v9 -EllMax 2 -RotationCount 10 -MaxIterations 1'; Id = 'InitialVolumeSizeMismatch,*' }
        @{ Name = 'Invoke-ApproxEm: non-cubic initial';     Code = '$ps | Invoke-ApproxEm -InitialVolume $nc -EllMax 2 -RotationCount 10 -MaxIterations 1'; Id = 'InitialVolumeSizeMismatch,*' }
        @{ Name = 'Invoke-ApproxEm: NaN initial volume';    Code = '$ps | Invoke-ApproxEm -InitialVolume $nan11 -EllMax 2 -RotationCount 10 -MaxIterations 1'; Id = 'VolumeNotFinite,*' }
        @{ Name = 'Invoke-ApproxEm: string initial volume'; Code = '$ps | Invoke-ApproxEm -InitialVolume "abc" -EllMax 2 -RotationCount 10 -MaxIterations 1'; Id = 'InitialVolumeInvalidType,*' }
        @{ Name = 'Invoke-ApproxEm: reference size';        Code = "`$ps | Invoke-ApproxEm $em -Reference `$v9"; Id = 'ReferenceSizeMismatch,*' }
        @{ Name = 'Invoke-ApproxEm: two patch sets';        Code = "`$ps, `$ps | Invoke-ApproxEm $em"; Id = 'MultiplePatchSets,*' }
        @{ Name = 'Invoke-ApproxEm: schedule lengths';      Code = '$ps | Invoke-ApproxEm -InitialVolume $v -EllMax 2, 3 -RotationCount 10, 20, 30 -MaxIterations 1'; Id = 'ScheduleLengthMismatch,*' }
        @{ Name = 'Invoke-ApproxEm: rotation set and count'; Code = "`$ps | Invoke-ApproxEm $em -RotationSet (New-RotationSet -Count 5)"; Id = 'RotationScheduleConflict,*' }
        @{ Name = 'Invoke-ApproxEm: checkpoint is a folder'; Code = "`$ps | Invoke-ApproxEm $em -CheckpointPath `$dir"; Id = 'CheckpointPathIsFolder,*' }
        @{ Name = 'Invoke-ApproxEm: checkpoint folder missing'; Code = "`$ps | Invoke-ApproxEm $em -CheckpointPath ./nodir/c.ckpt"; Id = 'CheckpointFolderNotFound,*' }
        @{ Name = 'Invoke-ApproxEm: overwrite a non-checkpoint'; Code = "`$ps | Invoke-ApproxEm $em -CheckpointPath `$exists"; Id = 'CheckpointPathNotCheckpoint,*' }
        @{ Name = 'Invoke-ApproxEm: resume from garbage';   Code = "`$ps | Invoke-ApproxEm $em -CheckpointPath `$garbage -Resume"; Id = 'CheckpointUnreadable,*' }
        @{ Name = 'Invoke-ApproxEm: -Resume alone';         Code = "`$ps | Invoke-ApproxEm $em -Resume"; Id = 'ResumeWithoutCheckpoint,*' }
        @{ Name = 'Measure-Fsc: sizes differ';              Code = 'Measure-Fsc -Reference $v -Volume $v9';     Id = 'FscSizeMismatch,*' }
        @{ Name = 'Measure-Fsc: non-cubic';                 Code = 'Measure-Fsc -Reference $v -Volume $nc';     Id = 'FscNonCubicVolume,*' }
        @{ Name = 'Measure-Fsc: NaN voxels';                Code = 'Measure-Fsc -Reference $nan -Volume $nan';  Id = 'VolumeNotFinite,*' }
        @{ Name = 'Measure-Fsc: threshold 1';               Code = 'Measure-Fsc -Reference $v -Volume $v -Threshold 1'; Id = 'ParameterArgumentValidationError,*' }
    )
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $ProgressPreference = 'SilentlyContinue'
    $script:v = New-EmVolume -Phantom -Size 11
    $script:v9 = New-EmVolume -Phantom -Size 9
    $script:nc = [CryoEmPS.Core.Volumes.Volume]::new(5, 6, 7, $null, 0, 'nc')
    $script:nan = [CryoEmPS.Core.Volumes.Volume]::new(5, 5, 5, $null, 0, 'nan'); $script:nan.Data[3] = [double]::NaN
    $script:nan11 = [CryoEmPS.Core.Volumes.Volume]::new(11, $null, 0, 'nan11'); $script:nan11.Data[7] = [double]::PositiveInfinity
    $script:m = New-Micrograph -Volume $script:v -Size 110 -ParticleCount 5 -Seed 1 3>$null
    $script:ps = $script:m | Get-PatchSet
    $script:work = Join-Path $TestDrive 'work'
    New-Item -ItemType Directory $script:work | Out-Null
    $script:dir = Join-Path $script:work 'folder'; New-Item -ItemType Directory $script:dir | Out-Null
    $script:exists = Join-Path $script:work 'exists.mrc'
    $script:v | Export-EmVolume -Path $script:exists
    $script:v9 | Export-EmVolume -Path (Join-Path $script:work 'other.mrc')
    $script:garbage = Join-Path $script:work 'garbage.mrc'; 'not a map' | Set-Content $script:garbage
}

Describe 'Bad input gives a terminating error with a stable ErrorId' {
    BeforeEach { Push-Location $script:work; $before = @(Get-ChildItem -Recurse $script:work | ForEach-Object FullName) }
    AfterEach { Pop-Location }

    It '<Name>' -ForEach $script:Cases {
        $sb = [scriptblock]::Create($Code)
        $err = $null
        try { & $sb 3>$null | Out-Null } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty -Because "'$Code' must fail"
        $err.FullyQualifiedErrorId | Should -BeLike $Id
        # Never a raw .NET exception message and never a leftover file (temporary or half-written).
        $err.Exception.Message | Should -Not -Match '^Exception calling|Object reference not set|Index was outside|Unable to cast|Arithmetic operation'
        @(Get-ChildItem -Recurse $script:work | ForEach-Object FullName) | Should -Be $before
    }

    It 'the existing file is untouched after a refused overwrite' {
        $len = (Get-Item $script:exists).Length
        { $script:ps | Invoke-ApproxEm -InitialVolume $script:v -EllMax 2 -RotationCount 10 -MaxIterations 1 -CheckpointPath $script:exists } |
            Should -Throw -ErrorId 'CheckpointPathNotCheckpoint*'
        (Get-Item $script:exists).Length | Should -Be $len
        (Import-EmVolume $script:exists).SizeX | Should -Be 11
    }

    It '-WhatIf writes nothing and -PassThru returns a provider FileInfo' {
        $p = Join-Path $script:work 'whatif.mrc'
        $script:v | Export-EmVolume -Path $p -WhatIf
        Test-Path $p | Should -BeFalse
        $f = $script:v | Export-EmVolume -Path $p -PassThru
        $f | Should -BeOfType System.IO.FileInfo
        $f.Length | Should -BeGreaterThan 1024
        $f.PSPath | Should -Not -BeNullOrEmpty
        Remove-Item $p
    }

    It 'a tiny volume (L < 6) projects instead of failing' {
        $tiny = New-EmVolume -Phantom -Size 5
        $s = $tiny | Get-EmProjection -Rotation (New-RotationSet -Count 3)
        $s.Count | Should -Be 3
    }
}
