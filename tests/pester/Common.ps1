# Dot-sourced by every *.Tests.ps1: imports the built module from out/ (or $env:CRYOEMPS_MODULE)
# and tells where ../shared/data is.
$script:ModulePath = if ($env:CRYOEMPS_MODULE) { $env:CRYOEMPS_MODULE } else { Join-Path $PSScriptRoot '../../out/CryoEmPS/CryoEmPS.psd1' }
Import-Module $script:ModulePath -Force -ErrorAction Stop
$script:SharedData = Join-Path $PSScriptRoot '../../../shared/data'
if ($env:CRYOEMPS_SHARED_DATA) { $script:SharedData = $env:CRYOEMPS_SHARED_DATA }
$script:HasSharedData = Test-Path (Join-Path $script:SharedData 'README.md')
$script:SharedDataSkip = '../shared/data is absent: interop test skipped.'

# The command line that starts a child PowerShell like this one: pwsh, or dotnet + pwsh.dll when PowerShell runs as the
# dotnet tool (as build.ps1's Get-ChildPwsh). Element 0 is the executable, the rest its first arguments.
function Get-ChildPwsh {
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}
