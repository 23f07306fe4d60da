// The reference table of Sources/Environment/Resources/atari57.csv, compiled in (its sources:
// Resources/SOURCES.md). The CSV file is the one to edit; GamesCatalogTests checks that this copy
// equals it byte for byte. Compiled in rather than shipped as a resource bundle, so that an
// `arena` binary copied anywhere (without a .resources folder beside it) still knows the scores.

extension GameCatalog {
    static let atari57CSV = #"""
game,title,random,human,dqn_nature
alien,Alien,227.8,7127.7,3069
amidar,Amidar,5.8,1719.5,739.5
assault,Assault,222.4,742.0,3359
asterix,Asterix,210.0,8503.3,6012
asteroids,Asteroids,719.1,47388.7,1629
atlantis,Atlantis,12850.0,29028.1,85641
bank_heist,Bank Heist,14.2,753.1,429.7
battle_zone,Battle Zone,2360.0,37187.5,26300
beam_rider,Beam Rider,363.9,16926.5,6846
berzerk,Berzerk,123.7,2630.4,
bowling,Bowling,23.1,160.7,42.4
boxing,Boxing,0.1,12.1,71.8
breakout,Breakout,1.7,30.5,401.2
centipede,Centipede,2090.9,12017.0,8309
chopper_command,Chopper Command,811.0,7387.8,6687
crazy_climber,Crazy Climber,10780.5,35829.4,114103
defender,Defender,2874.5,18688.9,
demon_attack,Demon Attack,152.1,1971.0,9711
double_dunk,Double Dunk,-18.6,-16.4,-18.1
enduro,Enduro,0.0,860.5,301.8
fishing_derby,Fishing Derby,-91.7,-38.7,-0.8
freeway,Freeway,0.0,29.6,30.3
frostbite,Frostbite,65.2,4334.7,328.3
gopher,Gopher,257.6,2412.5,8520
gravitar,Gravitar,173.0,3351.4,306.7
hero,H.E.R.O.,1027.0,30826.4,19950
ice_hockey,Ice Hockey,-11.2,0.9,-1.6
jamesbond,James Bond 007,29.0,302.8,576.7
kangaroo,Kangaroo,52.0,3035.0,6740
krull,Krull,1598.0,2665.5,3805
kung_fu_master,Kung-Fu Master,258.5,22736.3,23270
montezuma_revenge,Montezuma's Revenge,0.0,4753.3,0
ms_pacman,Ms. Pac-Man,307.3,6951.6,2311
name_this_game,Name This Game,2292.3,8049.0,7257
phoenix,Phoenix,761.4,7242.6,
pitfall,Pitfall!,-229.4,6463.7,
pong,Pong,-20.7,14.6,18.9
private_eye,Private Eye,24.9,69571.3,1788
qbert,Q*bert,163.9,13455.0,10596
riverraid,River Raid,1338.5,17118.0,8316
road_runner,Road Runner,11.5,7845.0,18257
robotank,Robot Tank,2.2,11.9,51.6
seaquest,Seaquest,68.4,42054.7,5286
skiing,Skiing,-17098.1,-4336.9,
solaris,Solaris,1236.3,12326.7,
space_invaders,Space Invaders,148.0,1668.7,1976
star_gunner,Stargunner,664.0,10250.0,57997
surround,Surround,-10.0,6.5,
tennis,Tennis,-23.8,-8.3,-2.5
time_pilot,Time Pilot,3568.0,5229.2,5947
tutankham,Tutankham,11.4,167.6,186.7
up_n_down,Up 'n Down,533.4,11693.2,8456
venture,Venture,0.0,1187.5,380.0
video_pinball,Video Pinball,16256.9,17667.9,42684
wizard_of_wor,Wizard of Wor,563.5,4756.5,3393
yars_revenge,Yars' Revenge,3092.9,54576.9,
zaxxon,Zaxxon,32.5,9173.3,4977

"""#
}
