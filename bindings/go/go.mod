module libvcluster.local/vcluster-go

go 1.24
