# New-EmCtf, Import-EmCtf, Set-MicrographCtf and the CTF pictures of Export-EmPicture, against small files written here.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Star31 = @'
# version 30001

data_optics

loop_
_rlnOpticsGroupName #1
_rlnOpticsGroup #2
_rlnMicrographOriginalPixelSize #3
_rlnVoltage #4
_rlnSphericalAberration #5
_rlnAmplitudeContrast #6
_rlnMicrographPixelSize #7
opticsGroup1 1 1.0 300.0 2.7 0.1 2.0
opticsGroup2 2 1.0 200.0 1.4 0.07 2.0

# version 30001

data_micrographs

loop_
_rlnMicrographName #1
_rlnOpticsGroup #2
_rlnDefocusU #3
_rlnDefocusV #4
_rlnDefocusAngle #5
_rlnPhaseShift #6
MotionCorr/job002/mic1.mrc 1 15000.5 14000.25 -12.5 0
MotionCorr/job002/mic2.mrc 2 21000 20000 40 45
'@
    $script:StarOld = @'
data_
loop_
_rlnMicrographName #1
_rlnDefocusU #2
_rlnDefocusV #3
_rlnDefocusAngle #4
_rlnVoltage #5
_rlnSphericalAberration #6
_rlnAmplitudeContrast #7
_rlnDetectorPixelSize #8
_rlnMagnification #9
_rlnCtfBfactor #10
Micrographs/old1.mrc 18000 17000 5 300 2.7 0.1 5.0 25000 30
'@
    $script:Ctffind = @'
# Output from CTFFind version 4.1.14, run on 2023-02-02 15:13:07
# Input file: /data/run1/mic7.mrc ; Number of micrographs: 1
# Pixel size: 2.000 Angstroms ; acceleration voltage: 300.0 keV ; spherical aberration: 2.70 mm ; amplitude contrast: 0.07
# Box size: 512 pixels ; min. res.: 30.0 Angstroms ; max. res.: 5.0 Angstroms ; min. def.: 5000.0 um; max. def. 50000.0 um
# Columns: #1 - micrograph number; #2 - defocus 1 [Angstroms]; #3 - defocus 2; #4 - azimuth of astigmatism; #5 - additional phase shift [radians]; #6 - cross correlation; #7 - spacing (in Angstroms) up to which CTF rings were fit successfully
1.000000 9982.502930 9900.000000 22.500000 0.785398 0.565683 6.980663
'@
    function New-CtfFile([string] $Name, [string] $Text) {
        $path = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $path -Value $Text
        $path
    }
    function New-TestMicrograph([string] $Name, [double] $PixelSize = 2) {
        $m = [CryoEmPS.Core.Simulation.Micrograph]::new(64, 64, [double[]]::new(64 * 64), $PixelSize, $Name)
        $m
    }
}

Describe 'New-EmCtf' {
    It 'makes a CTF with the given values and the defaults' {
        $ctf = New-EmCtf -DefocusU 15000 -PixelSize 1.5
        $ctf | Should -BeOfType CryoEmPS.Core.Projection.Ctf
        $ctf.DefocusV | Should -Be 15000
        $ctf.DefocusAngle | Should -Be 0
        $ctf.Voltage | Should -Be 300
        $ctf.SphericalAberration | Should -Be 2.7
        $ctf.AmplitudeContrast | Should -Be 0.1
        $ctf.PhaseShift | Should -Be 0
        $ctf.BFactor | Should -Be 0
        $ctf.PixelSize | Should -Be 1.5
        $ctf.Wavelength | Should -BeGreaterThan 0.019686
        $ctf.Wavelength | Should -BeLessThan 0.019689
        $full = New-EmCtf 20000 18000 -DefocusAngle 30 -Voltage 200 -Cs 2.0 -AmplitudeContrast 0.07 -PhaseShift 90 -BFactor 50 -PixelSize 1
        $full.DefocusV | Should -Be 18000
        $full.SphericalAberration | Should -Be 2.0
        $full.Evaluate(0, 0) | Should -BeGreaterThan -1
        (New-EmCtf -DefocusU 15000 -PixelSize 1.5) -eq $ctf | Should -BeTrue
    }
    It 'shows as a table' {
        $text = New-EmCtf -DefocusU 15000 -DefocusV 14000 -PixelSize 1.5 | Out-String
        $text | Should -Match 'DefocusU'
        $text | Should -Match '14000'
    }
    It 'refuses <What> with <ErrorId>' -ForEach @(
        @{ What = 'a zero defocus'; Splat = @{ DefocusU = 0; PixelSize = 1 }; ErrorId = 'CtfDefocusInvalid' }
        @{ What = 'a negative DefocusV'; Splat = @{ DefocusU = 1000; DefocusV = -5; PixelSize = 1 }; ErrorId = 'CtfDefocusInvalid' }
        @{ What = 'a NaN defocus'; Splat = @{ DefocusU = [double]::NaN; PixelSize = 1 }; ErrorId = 'CtfDefocusInvalid' }
        @{ What = 'amplitude contrast 1'; Splat = @{ DefocusU = 1000; AmplitudeContrast = 1; PixelSize = 1 }; ErrorId = 'CtfParameterInvalid' }
        @{ What = 'a zero pixel size'; Splat = @{ DefocusU = 1000; PixelSize = 0 }; ErrorId = 'CtfParameterInvalid' }
        @{ What = 'a negative voltage'; Splat = @{ DefocusU = 1000; Voltage = -300; PixelSize = 1 }; ErrorId = 'CtfParameterInvalid' }
    ) {
        { New-EmCtf @Splat } | Should -Throw -ErrorId "$ErrorId,CryoEmPS.Commands.NewEmCtfCommand"
    }
}

Describe 'CTF pictures' {
    It 'draws a CTF' {
        $png = Join-Path $TestDrive 'ctf.png'
        New-EmCtf -DefocusU 15000 -DefocusV 12000 -DefocusAngle 30 -PixelSize 1.5 | Export-EmPicture -Path $png -Size 64
        (Get-Item $png).Length | Should -BeGreaterThan 1000
    }
    It 'draws a power spectrum beside the CTF², and alone without a CTF' {
        $m = New-TestMicrograph 'ps' 2
        $rng = [Random]::new(3)
        for ($i = 0; $i -lt $m.Data.Length; $i++) { $m.Data[$i] = $rng.NextDouble() }
        $with = $m | Set-MicrographCtf -Ctf (New-EmCtf -DefocusU 12000 -PixelSize 2)
        $png = Join-Path $TestDrive 'ps.png'
        $with | Export-EmPicture -Path $png -PowerSpectrum -Size 32
        (Get-Item $png).Length | Should -BeGreaterThan 1000
        $bare = Join-Path $TestDrive 'bare.png'
        $m | Export-EmPicture -Path $bare -PowerSpectrum -WarningVariable warned -WarningAction SilentlyContinue
        (Get-Item $bare).Length | Should -BeGreaterThan 1000
        "$warned" | Should -Match 'no CTF'
    }
    It 'refuses -PowerSpectrum for a CTF' {
        { New-EmCtf -DefocusU 15000 -PixelSize 1 | Export-EmPicture -Path (Join-Path $TestDrive 'x.png') -PowerSpectrum } |
            Should -Throw -ErrorId 'PicturePowerSpectrumNeedsMicrograph,CryoEmPS.Commands.ExportEmPictureCommand'
    }
}

Describe 'Import-EmCtf' {
    It 'reads a RELION 3.1 STAR file with two optics groups' {
        $entries = @(Import-EmCtf -LiteralPath (New-CtfFile 'mc.star' $script:Star31))
        $entries.Count | Should -Be 2
        $entries[0].MicrographName | Should -Be 'MotionCorr/job002/mic1.mrc'
        $entries[0].Ctf.DefocusU | Should -Be 15000.5
        $entries[0].Ctf.DefocusV | Should -Be 14000.25
        $entries[0].Ctf.DefocusAngle | Should -Be -12.5
        $entries[0].Ctf.Voltage | Should -Be 300
        $entries[0].Ctf.PixelSize | Should -Be 2
        $entries[1].Ctf.Voltage | Should -Be 200
        $entries[1].Ctf.SphericalAberration | Should -Be 1.4
        $entries[1].Ctf.AmplitudeContrast | Should -Be 0.07
        $entries[1].Ctf.PhaseShift | Should -Be 45
        ($entries | Out-String) | Should -Match 'mic2.mrc'
    }
    It 'reads the pre-3.1 single-block form (pixel size from detector pixel and magnification)' {
        $e = Import-EmCtf (New-CtfFile 'old.star' $script:StarOld)
        $e.MicrographName | Should -Be 'Micrographs/old1.mrc'
        $e.Ctf.PixelSize | Should -Be 2
        $e.Ctf.BFactor | Should -Be 30
        $e.Ctf.DefocusU | Should -Be 18000
    }
    It 'reads CTFFIND4 output (phase shift in radians)' {
        $e = Import-EmCtf (New-CtfFile 'mic7_ctf.txt' $script:Ctffind)
        $e.MicrographName | Should -Be '/data/run1/mic7.mrc'
        $e.Ctf.DefocusU | Should -Be 9982.50293
        $e.Ctf.DefocusV | Should -Be 9900
        $e.Ctf.DefocusAngle | Should -Be 22.5
        $e.Ctf.PhaseShift | Should -BeGreaterThan 44.9999
        $e.Ctf.PhaseShift | Should -BeLessThan 45.0001
        $e.Ctf.AmplitudeContrast | Should -Be 0.07
        $e.Ctf.PixelSize | Should -Be 2
    }
    It 'stops with <ErrorId> for <What>' -ForEach @(
        @{ What = 'a missing defocus column'; ErrorId = 'CtfColumnMissing'; Match = 'rlnDefocusV'
           Edit = { param($t) $t -replace '_rlnDefocusV #4', '_rlnSomethingElse #4' } }
        @{ What = 'a missing pixel size'; ErrorId = 'CtfColumnMissing'; Match = 'PixelSize'
           Edit = { param($t) $t -replace '_rlnMicrographPixelSize #7', '_rlnOther #7' } }
        @{ What = 'a zero defocus'; ErrorId = 'CtfDefocusInvalid'; Match = 'row 2'
           Edit = { param($t) $t -replace '2 21000 20000', '2 0 20000' } }
        @{ What = 'a NaN defocus'; ErrorId = 'CtfDefocusInvalid'; Match = 'mic1'
           Edit = { param($t) $t -replace '15000.5', 'NaN' } }
        @{ What = 'a value that is not a number'; ErrorId = 'CtfValueInvalid'; Match = 'abc'
           Edit = { param($t) $t -replace '14000.25', 'abc' } }
        @{ What = 'an unknown optics group'; ErrorId = 'CtfOpticsGroupUnknown'; Match = 'optics group 3'
           Edit = { param($t) $t -replace 'mic2.mrc 2', 'mic2.mrc 3' } }
        @{ What = 'amplitude contrast 1.5'; ErrorId = 'CtfParameterInvalid'; Match = 'AmplitudeContrast'
           Edit = { param($t) $t -replace '2.7 0.1 2.0', '2.7 1.5 2.0' } }
        @{ What = 'a file of neither format'; ErrorId = 'CtfFormatUnknown'; Match = 'neither'
           Edit = { param($t) 'just some text' } }
        @{ What = 'a malformed STAR file'; ErrorId = 'CtfInvalidFormat'; Match = 'values'
           Edit = { param($t) $t -replace '2 21000 20000 40 45', '2 21000 20000 40' } }
    ) {
        $path = New-CtfFile 'bad.star' (& $Edit $script:Star31)
        $err = { Import-EmCtf -LiteralPath $path } | Should -Throw -ErrorId "$ErrorId,CryoEmPS.Commands.ImportEmCtfCommand" -PassThru
        $err.Exception.Message | Should -Match $Match
    }
    It 'stops with <ErrorId> for a CTFFIND4 file with <What>' -ForEach @(
        @{ What = 'no pixel size line'; ErrorId = 'CtfColumnMissing'; Edit = { param($t) $t -replace '# Pixel size.*', '' } }
        @{ What = 'no input file line'; ErrorId = 'CtfColumnMissing'; Edit = { param($t) $t -replace '# Input file.*', '' } }
        @{ What = 'four columns'; ErrorId = 'CtfColumnMissing'; Edit = { param($t) $t -replace '0.785398 0.565683 6.980663', '' } }
        @{ What = 'a negative defocus'; ErrorId = 'CtfDefocusInvalid'; Edit = { param($t) $t -replace '9900.000000', '-9900' } }
        @{ What = 'no rows'; ErrorId = 'CtfFileEmpty'; Edit = { param($t) ($t -split "`n" | Where-Object { $_ -match '^#' }) -join "`n" } }
    ) {
        $path = New-CtfFile 'bad.txt' (& $Edit $script:Ctffind)
        { Import-EmCtf -LiteralPath $path } | Should -Throw -ErrorId "$ErrorId,CryoEmPS.Commands.ImportEmCtfCommand"
    }
    It 'stops with CtfFileNotFound for a missing file' {
        { Import-EmCtf -Path (Join-Path $TestDrive 'nope.star') } | Should -Throw -ErrorId 'CtfFileNotFound,CryoEmPS.Commands.ImportEmCtfCommand'
    }
}

Describe 'Set-MicrographCtf' {
    It 'matches by relative path, file name and stem, never changes the input, and records the step' {
        $star = New-CtfFile 'mc.star' $script:Star31
        $a = New-TestMicrograph 'a'
        $a.FilePath = '/project/MotionCorr/job002/mic1.mrc'
        $b = New-TestMicrograph 'mic2'
        $out = @($a, $b | Set-MicrographCtf -LiteralPath $star)
        $out.Count | Should -Be 2
        $out[0].Ctf.DefocusU | Should -Be 15000.5
        $out[1].Ctf.Voltage | Should -Be 200
        $a.Ctf | Should -BeNullOrEmpty
        $a.Steps.Count | Should -Be 0
        [object]::ReferenceEquals($out[0], $a) | Should -BeFalse
        $out[0].Steps[-1].Operation | Should -Be 'Set-MicrographCtf'
        $out[0].Steps[-1].Parameters['LiteralPath'] | Should -Match 'mc.star'
        $c = New-TestMicrograph 'c'
        $c.FilePath = '/elsewhere/mic1.mrc'
        ($c | Set-MicrographCtf -LiteralPath $star).Ctf.DefocusU | Should -Be 15000.5
    }
    It 'gives CtfMicrographNotFound for an unmatched micrograph and passes the others on' {
        $star = New-CtfFile 'mc.star' $script:Star31
        $out = @((New-TestMicrograph 'mic1'), (New-TestMicrograph 'stranger'), (New-TestMicrograph 'mic2') |
            Set-MicrographCtf -LiteralPath $star -ErrorVariable errs -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 2
        $out.Name | Should -Be @('mic1', 'mic2')
        @($errs).Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'CtfMicrographNotFound,CryoEmPS.Commands.SetMicrographCtfCommand'
    }
    It 'attaches a one-row CTFFIND4 file by its input file name, or to the only micrograph with a warning' {
        $txt = New-CtfFile 'mic7_ctf.txt' $script:Ctffind
        (New-TestMicrograph 'mic7' | Set-MicrographCtf -Path $txt).Ctf.PhaseShift | Should -BeGreaterThan 44.99
        $one = New-TestMicrograph 'other' | Set-MicrographCtf -Path $txt -WarningVariable w -WarningAction SilentlyContinue -ErrorVariable oneErrs
        $one.Ctf.DefocusU | Should -Be 9982.50293
        @($oneErrs).Count | Should -Be 0
        "$w" | Should -Match 'one micrograph'
        $two = @((New-TestMicrograph 'x'), (New-TestMicrograph 'y') |
            Set-MicrographCtf -Path $txt -ErrorVariable errs -ErrorAction SilentlyContinue)
        $two.Count | Should -Be 0
        @($errs).Count | Should -Be 2
    }
    It 'refuses a pixel size more than 1 % off with CtfPixelSizeMismatch unless -Force' {
        $ctf = New-EmCtf -DefocusU 15000 -PixelSize 2
        $out = @((New-TestMicrograph 'p' 2.5), (New-TestMicrograph 'q' 2.01) |
            Set-MicrographCtf -Ctf $ctf -ErrorVariable errs -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 1
        $out[0].Name | Should -Be 'q'
        $out[0].Ctf.PixelSize | Should -Be 2.01
        $errs[0].FullyQualifiedErrorId | Should -Be 'CtfPixelSizeMismatch,CryoEmPS.Commands.SetMicrographCtfCommand'
        $forced = New-TestMicrograph 'p' 2.5 | Set-MicrographCtf -Ctf $ctf -Force -WarningVariable w -WarningAction SilentlyContinue
        $forced.Ctf.PixelSize | Should -Be 2.5
        "$w" | Should -Match '2.5'
        $forced.Steps[-1].Parameters['Ctf'] | Should -Match 'New-EmCtf -DefocusU 15000'
    }
    It 'gives an unknown pixel size the CTF''s' {
        $m = New-TestMicrograph 'u' 0 | Set-MicrographCtf -Ctf (New-EmCtf -DefocusU 15000 -PixelSize 1.7)
        $m.PixelSize | Should -Be 1.7
        $m.Ctf.PixelSize | Should -Be 1.7
    }
    It 'stops on a bad file before any micrograph' {
        $path = New-CtfFile 'bad.star' ($script:Star31 -replace '15000.5', '-1')
        { New-TestMicrograph 'mic1' | Set-MicrographCtf -LiteralPath $path } |
            Should -Throw -ErrorId 'CtfDefocusInvalid,CryoEmPS.Commands.SetMicrographCtfCommand'
    }
    It 'outputs nothing with -WhatIf' {
        @(New-TestMicrograph 'mic1' | Set-MicrographCtf -Ctf (New-EmCtf -DefocusU 15000 -PixelSize 2) -WhatIf).Count | Should -Be 0
    }
}
