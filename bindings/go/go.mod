module github.com/libvcluster/libvcluster/bindings/go

go 1.24
