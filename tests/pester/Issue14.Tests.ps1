# Plots, pixel sizes and RELION input (issue 14): the cmdlet side of what the xunit tests check in Core.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    function Get-PngSize([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        $b[1..3] | Should -Be @(0x50, 0x4E, 0x47)
        [pscustomobject]@{ Width = [int]$b[16] * 16777216 + $b[17] * 65536 + $b[18] * 256 + $b[19]; Height = [int]$b[20] * 16777216 + $b[21] * 65536 + $b[22] * 256 + $b[23] }
    }
    $script:Truth = New-EmVolume -Phantom -Size 9 -VoxelSize 3
    $script:Mic = New-Micrograph -Volume $script:Truth -Size 90 -ParticleCount 4 -Snr 3 -Seed 2
}

Describe 'Export-EmPicture charts' {
    It 'draws one or several FSC curves into one chart' {
        $a = Measure-Fsc -Reference $script:Truth -Volume ($script:Truth | Resize-EmVolume -Size 5 | Resize-EmVolume -Size 9)
        $b = Measure-Fsc -Reference $script:Truth -Volume $script:Truth -Threshold 0.143
        $p = Join-Path $TestDrive 'fsc.png'
        $a, $b | Export-EmPicture -Path $p -Label 'low-passed', 'self'
        (Get-PngSize $p).Width | Should -Be 800
        { $a, $script:Truth | Export-EmPicture -Path (Join-Path $TestDrive 'mixed.png') } | Should -Throw -ErrorId 'PictureMultipleInputs*'
    }
    It 'honours -Zoom on micrographs and fits them without it' {
        $p1 = Join-Path $TestDrive 'm1.png'
        $p3 = Join-Path $TestDrive 'm3.png'
        $script:Mic | Export-EmPicture -Path $p1
        $script:Mic | Export-EmPicture -Path $p3 -Zoom 3
        ((Get-PngSize $p3).Width - (Get-PngSize $p1).Width) | Should -Be (2 * 90)
    }
    It 'draws a patch set and the history of a reconstruction, and refuses -History for other objects' {
        $patches = $script:Mic | Get-PatchSet -PatchSize 9
        $patches | Export-EmPicture -Path (Join-Path $TestDrive 'patches.png')
        $r = $patches | Invoke-ApproxEm -InitialVolume $script:Truth -EllMax 2 -RotationCount 20 -MaxIterations 1 -Reference $script:Truth -Seed 3
        $r | Export-EmPicture -History -Path (Join-Path $TestDrive 'history.png')
        (Get-PngSize (Join-Path $TestDrive 'history.png')).Height | Should -BeGreaterThan 800
        $r | Export-EmPicture -Path (Join-Path $TestDrive 'volume.png')
        $script:Mic | Export-EmPicture -Path (Join-Path $TestDrive 'placed.png') -ApproxEmResult $r -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'no per-patch placements'
        { $script:Truth | Export-EmPicture -History -Path (Join-Path $TestDrive 'h.png') } | Should -Throw -ErrorId 'PictureHistoryNeedsResult*'
    }
}

Describe 'The pixel size travels with the data' {
    It 'goes from the micrograph to the patch set, the EM volume, the MRC header and the FSC in Å' {
        $script:Mic.PixelSize | Should -Be 3
        $patches = $script:Mic | Get-PatchSet -PatchSize 9
        $patches.PixelSize | Should -Be 3
        $noSize = $script:Truth.Clone(); $noSize.VoxelSize = 0
        $r = $patches | Invoke-ApproxEm -InitialVolume $noSize -EllMax 2 -RotationCount 20 -MaxIterations 1 -Seed 3
        $r.Volume.VoxelSize | Should -Be 3
        $p = Join-Path $TestDrive 'em.mrc'
        $r.Volume | Export-EmVolume -Path $p
        (Import-EmVolume $p).VoxelSize | Should -Be 3
        $noRef = $script:Truth.Clone(); $noRef.VoxelSize = 0
        (Measure-Fsc -Reference $noRef -Volume $r.Volume).ResolutionAngstrom | Should -BeGreaterThan 0
    }
    It 'keeps an atomic model in its own frame with -KeepModelFrame' {
        $pdb = Join-Path $TestDrive 'one.pdb'
        Set-Content $pdb 'ATOM      1  CA  ALA A   1      31.300 -12.200   7.900  1.00  0.00           C'
        $v = New-EmVolume -AtomicModel $pdb -Size 15 -VoxelSize 2 -KeepModelFrame
        $p = Join-Path $TestDrive 'model.mrc'
        $v | Export-EmVolume -Path $p
        $back = Import-EmVolume $p
        ($back.StartX, $back.StartY, $back.StartZ) | Should -Be 9, -13, -3
    }
    It 'warns about non-cubic voxels read from a file' -Skip:(-not $script:HasSharedData) {
        Import-EmVolume (Join-Path $script:SharedData '5i55_tiny.ccp4') -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        "$w" | Should -Match 'non-cubic voxels'
    }
}

Describe 'RELION input' {
    It 'Import-EmImageStack reads a RELION particle STAR file with its rotations' -Skip:(-not $script:HasSharedData) {
        $s = Import-EmImageStack (Join-Path $script:SharedData 'rln_proj_64.star')
        $s.Count | Should -Be 5
        $s.SizeX | Should -Be 64
        $s.Rotations.Count | Should -Be 5
        $star = Import-StarFile (Join-Path $script:SharedData 'rln_proj_64.star') -AsObject
        $e = $s.Rotations[0].ToEulerZyz()
        $back = [CryoEmPS.Core.Rotations.Rotation]::FromEulerZyz($star[0].rlnAngleRot, $star[0].rlnAngleTilt, $star[0].rlnAnglePsi)
        [CryoEmPS.Core.Rotations.RotationGrid]::Distance($s.Rotations[0], $back) | Should -BeLessThan 1e-6   # arccos near 1: ~1e-8 at best
        $e | Should -Not -BeNullOrEmpty
    }
    It 'Import-StarFile gives blocks, filtered blocks and row objects' -Skip:(-not $script:HasSharedData) {
        $b = Import-StarFile (Join-Path $script:SharedData 'rln_proj_65.star')
        $b.Name | Should -Be 'particles'
        @(Import-StarFile (Join-Path $script:SharedData 'rln_proj_65.star') -Block optics).Count | Should -Be 0
        $rows = Import-StarFile -LiteralPath (Join-Path $script:SharedData 'rln_proj_65.star') -AsObject
        $rows.Count | Should -Be 5
        $rows[0].rlnAngleRot | Should -Be 355.858841
    }
    It 'a malformed STAR file and a missing stack give stable ErrorIds' {
        $bad = Join-Path $TestDrive 'bad.star'
        Set-Content $bad "data_x`nloop_`n_a #1`n_b #2`n1 2`n3`n"
        { Import-StarFile $bad } | Should -Throw -ErrorId 'StarInvalidFormat*'
        $missing = Join-Path $TestDrive 'missing.star'
        Set-Content $missing "data_particles`nloop_`n_rlnImageName #1`n1@nowhere.mrcs`n"
        # One missing stack is a non-terminating error (the other files of a batch go on); -ErrorAction Stop makes it throw here
        # whatever the caller's preference.
        { Import-EmImageStack $missing -ErrorAction Stop } | Should -Throw -ErrorId 'StarImageFileNotFound*'
        { Import-StarFile (Join-Path $TestDrive 'none.star') } | Should -Throw -ErrorId 'StarFileNotFound*'
    }
}
